"""The notifications' words: the kinds of notification (each with the one line it says),
the channels, the states of a delivery and the audit events. Each stated once.

A message never carries document content or personal details: only what happened, the
archive number where the recipient may see it, and a link. ``%(number)s`` is the archive
number (or the application's number), ``%(reason)s`` the reason given by whoever decided.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive_service.vocabulary import Label, Term, Vocabulary, _t


@dataclass(frozen=True)
class KindTerm(Term):
    """A kind of notification: its label (preferences page) and the line a message says."""

    line: Label = _t("notification", "")


class Kind:
    STEP_WAITING = "step_waiting"  # an approval step waits for you
    STEP_REMINDER = "step_reminder"  # ... and has waited longer than it should
    STEP_ESCALATED = "step_escalated"  # a step of someone below you waits too long
    APPLICATION_DECIDED = "application_decided"  # your application was approved or rejected
    DOCUMENT_RETURNED = "document_returned"
    DOCUMENT_ACCEPTED = "document_accepted"
    GRANT_ENDING = "grant_ending"  # a grant you hold ends in three days
    REVIEW_COMPILED = "review_compiled"
    DESTRUCTION_COMPLETED = "destruction_completed"
    DESTRUCTION_FAILED = "destruction_failed"
    FIXITY_FAILURE = "fixity_failure"
    CHECK_FAILURE = "check_failure"
    ACCOUNT_CLOSING = "account_closing"  # the directory no longer lists you (leaver sync)
    DUTY_DUE = "duty_due"  # a recurring review (定期检查) is yours to do
    DUTY_OVERDUE = "duty_overdue"  # ... and is past its due date (yours, or below you)
    PAPER_OVERDUE = "paper_overdue"  # a paper original lent is past its due date


KINDS: Vocabulary[KindTerm] = Vocabulary(
    "notification kind",
    [
        KindTerm(
            Kind.STEP_WAITING,
            _t("notification kind", "an approval waits for me"),
            _t("notification", "An approval waits for you: %(what)s"),
        ),
        KindTerm(
            Kind.STEP_REMINDER,
            _t("notification kind", "reminders of approvals left waiting"),
            _t(
                "notification",
                "Reminder: an approval has waited %(days)s working days for you: %(what)s",
            ),
        ),
        KindTerm(
            Kind.STEP_ESCALATED,
            _t("notification kind", "approvals left waiting below me"),
            _t(
                "notification",
                "An approval has waited %(days)s working days for its approver: %(what)s",
            ),
        ),
        KindTerm(
            Kind.APPLICATION_DECIDED,
            _t("notification kind", "my application was decided"),
            _t("notification", "Your application was decided: %(what)s, %(outcome)s"),
        ),
        KindTerm(
            Kind.DOCUMENT_RETURNED,
            _t("notification kind", "my document was returned"),
            _t("notification", "Your document was returned for correction: %(reason)s"),
        ),
        KindTerm(
            Kind.DOCUMENT_ACCEPTED,
            _t("notification kind", "my document was accepted"),
            _t("notification", "Your document was accepted as %(number)s"),
        ),
        KindTerm(
            Kind.GRANT_ENDING,
            _t("notification kind", "a grant I hold ends soon"),
            _t("notification", "A grant you hold ends on %(date)s"),
        ),
        KindTerm(
            Kind.REVIEW_COMPILED,
            _t("notification kind", "a retention review list was compiled"),
            _t("notification", "A retention review list was compiled: %(count)s documents"),
        ),
        KindTerm(
            Kind.DESTRUCTION_COMPLETED,
            _t("notification kind", "a destruction completed"),
            _t("notification", "A destruction completed: %(count)s documents"),
        ),
        KindTerm(
            Kind.DESTRUCTION_FAILED,
            _t("notification kind", "a destruction failed"),
            _t("notification", "A destruction failed"),
        ),
        KindTerm(
            Kind.FIXITY_FAILURE,
            _t("notification kind", "a fixity check failed"),
            _t("notification", "A stored file failed its fixity check"),
        ),
        KindTerm(
            Kind.CHECK_FAILURE,
            _t("notification kind", "an intake check failed"),
            _t("notification", "A document failed its intake checks"),
        ),
        KindTerm(
            Kind.ACCOUNT_CLOSING,
            _t("notification kind", "my account will be closed"),
            _t("notification", "Your account will be closed on %(date)s"),
        ),
        KindTerm(
            Kind.DUTY_DUE,
            _t("notification kind", "a recurring review is mine to do"),
            _t("notification", "Due by %(date)s: %(what)s for %(period)s"),
        ),
        KindTerm(
            Kind.DUTY_OVERDUE,
            _t("notification kind", "recurring reviews overdue"),
            _t("notification", "Overdue since %(date)s: %(what)s for %(period)s (%(department)s)"),
        ),
        KindTerm(
            Kind.PAPER_OVERDUE,
            _t("notification kind", "a paper original lent is overdue"),
            _t(
                "notification",
                "A paper original lent is overdue (due back on %(date)s): %(number)s",
            ),
        ),
    ],
)

# What a waiting step belongs to (the %(what)s of the step kinds) and a decision's outcome.
SUBJECTS = Vocabulary(
    "notification subject",
    [
        Term("access", _t("notification subject", "access application %(number)s")),
        Term("change", _t("notification subject", "change request %(number)s")),
        Term("destruction", _t("notification subject", "destruction application %(number)s")),
        Term("transfer", _t("notification subject", "transfer %(number)s")),
        Term("role", _t("notification subject", "role grant %(number)s")),
        # The recurring reviews (duties/vocabulary.py DUTY_KINDS), by their codes.
        Term(
            "ledger_check", _t("notification subject", "the monthly check of the customer ledger")
        ),
        Term("core_review", _t("notification subject", "the yearly review of core customers")),
        Term("tier_review", _t("notification subject", "the quarterly re-evaluation of tiers")),
    ],
)
OUTCOMES = Vocabulary(
    "notification outcome",
    [
        Term("approved", _t("notification outcome", "approved")),
        Term("rejected", _t("notification outcome", "rejected")),
        Term("returned", _t("notification outcome", "returned for correction")),
    ],
)


class Channel:
    IN_APP = "in_app"  # always: the notification centre
    EMAIL = "email"
    WECOM = "wecom"  # 企业微信 group robot
    DINGTALK = "dingtalk"  # 钉钉 group robot


CHANNELS = Vocabulary(
    "notification channel",
    [
        Term(Channel.EMAIL, _t("notification channel", "e-mail")),
        Term(Channel.WECOM, _t("notification channel", "WeCom group")),
        Term(Channel.DINGTALK, _t("notification channel", "DingTalk group")),
    ],
)
WEBHOOK_CHANNELS = (Channel.WECOM, Channel.DINGTALK)


class DeliveryStatus:
    QUEUED = "queued"  # to send (again) at next_try_at
    HELD = "held"  # waits for the recipient's daily digest
    SENT = "sent"
    FAILED = "failed"  # gave up after the last try; shown to admins
    SKIPPED = "skipped"  # the channel is not configured here (no mail server set)


DELIVERY_STATUSES = Vocabulary(
    "delivery status",
    [
        Term(DeliveryStatus.QUEUED, _t("delivery status", "queued")),
        Term(DeliveryStatus.HELD, _t("delivery status", "held for the digest")),
        Term(DeliveryStatus.SENT, _t("delivery status", "sent")),
        Term(DeliveryStatus.FAILED, _t("delivery status", "failed")),
        Term(DeliveryStatus.SKIPPED, _t("delivery status", "not configured")),
    ],
)


class Stage:
    """How far a waiting step has gone: the approver reminded, then the next person up."""

    REMINDED = "reminded"
    ESCALATED = "escalated"


# The heading of every message (e-mail subject, robot title) and of the daily digest.
TITLE = _t("notification", "Customer Archive")
DIGEST_TITLE = _t("notification", "Customer Archive: today's notifications (%(count)s)")
