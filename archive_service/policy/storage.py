"""Who sees the state of the stored objects: the fixity sweep and the failures it found."""

from __future__ import annotations

from archive_service.policy.core import any_role, rule

rule("fixity.read")(
    any_role("auditor", "archivist", rule_name="fixity-reader", what="see the fixity checks")
)
