"""The audit sampling's vocabularies: the states of a sampling, the checklist worked through
for each sampled archive (stated once here, with which items the service pre-fills), the
results an item takes, and the follow-up states of a finding."""

from __future__ import annotations

from dataclasses import dataclass

from archive_service.vocabulary import Term, Vocabulary, _t


class SamplingState:
    """open (the auditor works through the sample) → closed (the report is fixed)."""

    OPEN = "open"
    CLOSED = "closed"


class Result:
    PASSED = "passed"
    FAILED = "failed"
    NOT_APPLICABLE = "not_applicable"


class FollowUp:
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"


@dataclass(frozen=True)
class ChecklistItem(Term):
    """One question asked of every sampled archive; ``prefilled``: the service proposes an
    answer from the data (``sampling.prefill``), which the auditor still confirms."""

    prefilled: bool = False


def _item(code: str, english: str, prefilled: bool = False) -> ChecklistItem:
    return ChecklistItem(code, _t("audit checklist", english), prefilled=prefilled)


SAMPLING_STATES = Vocabulary(
    "audit sampling state",
    [
        Term(SamplingState.OPEN, _t("audit sampling state", "open")),
        Term(SamplingState.CLOSED, _t("audit sampling state", "closed")),
    ],
)
CHECKLIST: Vocabulary[ChecklistItem] = Vocabulary(
    "audit checklist",
    [
        _item("classification", "Classification right"),  # 分类正确
        _item("complete", "Documents complete"),  # 文件齐全
        _item("numbering", "Archive numbers continuous", prefilled=True),  # 编号连续
        _item("register", "Access registered"),  # 查阅已登记
        _item("retention", "Retention period right"),  # 保管期限正确
        _item("checks", "四性 check report present", prefilled=True),  # 四性检测报告
    ],
)
RESULTS = Vocabulary(
    "audit result",
    [
        Term(Result.PASSED, _t("audit result", "passed")),
        Term(Result.FAILED, _t("audit result", "failed")),
        Term(Result.NOT_APPLICABLE, _t("audit result", "not applicable")),
    ],
)
FOLLOW_UPS = Vocabulary(
    "audit follow-up",
    [
        Term(FollowUp.OPEN, _t("audit follow-up", "open")),
        Term(FollowUp.IN_PROGRESS, _t("audit follow-up", "in progress")),
        Term(FollowUp.DONE, _t("audit follow-up", "done")),
    ],
    default=FollowUp.OPEN,
)

# What the auditor records as sampling's purpose in the access register (and the audit
# trail): the reading is for this audit, by its number.
REGISTER_PURPOSE = "专项审计抽查 #{id} (audit sampling)"
MAX_SIZE = 10_000
MAX_NOTE = 1000
MAX_FINDINGS = 50
MAX_SEED = 2**31 - 1  # a whole number any client and database column holds
