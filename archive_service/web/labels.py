"""Words the interface shows for stored values (statuses, roles, tiers…), marked for translation.

Templates show them with ``_(value)``; listing them here lets the message
extractor find them, so the catalogue keeps their translations.
"""

from flask_babel import lazy_gettext as _l

LABELS = [
    # account and application statuses
    _l("applied"),
    _l("approved"),
    _l("active"),
    _l("closed"),
    _l("rejected"),
    _l("pending"),
    _l("waiting"),
    _l("revoked"),
    _l("expired"),
    # document statuses and reading actions
    _l("submitted"),
    _l("returned"),
    _l("accepted"),
    _l("destroyed"),
    _l("download"),
    _l("preview"),
    _l("view"),
    # reviews, destructions and their items
    _l("compiled"),
    _l("confirmed"),
    _l("executing"),
    _l("completed"),
    _l("failed"),
    _l("keys_destroyed"),
    _l("skipped_hold"),
    _l("skipped_not_due"),
    # customers
    _l("individual"),
    _l("enterprise"),
    _l("institution"),
    _l("core"),
    _l("important"),
    _l("potential"),
    _l("ordinary"),
    _l("large"),
    _l("medium"),
    _l("small"),
    # retention classes
    _l("permanent"),
    _l("long"),
    _l("short"),
    # roles
    _l("admin"),
    _l("clerk"),
    _l("archivist"),
    _l("department_head"),
    _l("operations_head"),
    _l("leader"),
    _l("manager"),
    _l("requester"),
    _l("regulator"),
    _l("supervisor"),
    _l("auditor"),
]
