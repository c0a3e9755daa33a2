"""The check vocabulary: the four groups (四性) and every check item, each stated once with
its group, whether a failure blocks acceptance (mandatory) or only warns (advisory), and
its label. Adding an item is one line here, its rule in ``rules.py`` and its translation.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive_service.vocabulary import Term, Vocabulary, _t


class Stage:
    SUBMITTED = "submitted"  # run after the upload commits (a Celery task)
    ACCEPTED = "accepted"  # run as the archivist accepts


STAGES = Vocabulary(
    "check stage",
    [
        Term(Stage.SUBMITTED, _t("check stage", "at submission")),
        Term(Stage.ACCEPTED, _t("check stage", "at acceptance")),
    ],
)

AUTHENTICITY, INTEGRITY, USABILITY, SECURITY = "authenticity", "integrity", "usability", "security"

CHECK_GROUPS = Vocabulary(
    "check group",
    [
        Term(AUTHENTICITY, _t("check group", "authenticity")),  # 真实性
        Term(INTEGRITY, _t("check group", "integrity")),  # 完整性
        Term(USABILITY, _t("check group", "usability")),  # 可用性
        Term(SECURITY, _t("check group", "security")),  # 安全性
    ],
)


@dataclass(frozen=True)
class CheckItem(Term):
    """One check: its group, and whether its failure blocks acceptance."""

    group: str = AUTHENTICITY
    mandatory: bool = True


def _item(code: str, group: str, mandatory: bool, english: str) -> CheckItem:
    return CheckItem(code, _t("check item", english), group=group, mandatory=mandatory)


CHECK_ITEMS: Vocabulary[CheckItem] = Vocabulary(
    "check item",
    [
        _item("digest", AUTHENTICITY, True, "The stored file still matches its upload digest"),
        _item(
            "type", AUTHENTICITY, True, "The detected type agrees with the declared type and name"
        ),
        _item("signatures", AUTHENTICITY, True, "Embedded digital signatures are valid"),
        _item("metadata", INTEGRITY, True, "Required metadata and category facts are complete"),
        _item("whole", INTEGRITY, True, "The file is whole: it parses to its end, pages known"),
        _item("series", INTEGRITY, False, "The customer's archive-number series has no gap"),
        _item("readable", USABILITY, False, "The file yields text (or OCR text)"),
        _item("not_encrypted", USABILITY, True, "The file is not password-protected or encrypted"),
        _item("fonts", USABILITY, False, "The fonts it needs are embedded or available"),
        _item("macros", SECURITY, True, "No macros"),
        _item("executables", SECURITY, True, "No embedded executables"),
        _item("active_content", SECURITY, True, "No JavaScript or launch actions"),
        _item("attachments", SECURITY, False, "No embedded files"),
        _item("allowed_type", SECURITY, True, "The file type is on the allow-list"),
    ],
)

# Words of the report that are not item labels.
NOT_APPLICABLE = _t("check detail", "not applicable")
