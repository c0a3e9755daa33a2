"""The archive's vocabularies: customer types, tiers, scales and retention classes.

Each is one table. A retention class names its default years (``None``: permanent), which
``ARCHIVE_RETENTION_<CLASS>_YEARS`` overrides; its code in archive numbers and exports
(DA/T 13 practice: ``Y``, ``D30``, ``D10``) follows the years in force unless
``ARCHIVE_RETENTION_<CLASS>_CODE`` names one; and its authority (依据), the rule or regulation
it comes from, which ``ARCHIVE_RETENTION_<CLASS>_AUTHORITY`` replaces. A tier names the minimum
years its customers' documents are kept (``ARCHIVE_TIER_MINIMUM_<TIER>``). Adding a class
or a tier is one line here and its translation.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive_service.archive.containers import (
    NOT_BINARY_OFFICE,
    NOT_OFD,
    NOT_OFFICE_PACKAGE,
    NOT_OPENDOCUMENT,
    PDF_APPENDED_DATA,
)
from archive_service.vocabulary import Label, Term, Vocabulary, _t


@dataclass(frozen=True)
class RetentionClass(Term):
    """A retention class (保管期限): how many years by default (None: permanent), and the rule
    or regulation it comes from (its authority, shown on the document and in exports)."""

    years: int | None = None
    authority: Label | None = None


@dataclass(frozen=True)
class Tier(Term):
    """A customer tier and the fewest years its customers' documents are kept."""

    minimum_years: int = 5


CUSTOMER_TYPES = Vocabulary(
    "customer type",
    [
        Term("individual", _t("customer type", "individual")),
        Term("enterprise", _t("customer type", "enterprise")),
        Term("institution", _t("customer type", "institution")),
    ],
    default="enterprise",
)

TIERS = Vocabulary(
    "tier",
    [
        Tier("core", _t("tier", "core"), minimum_years=10),
        Tier("important", _t("tier", "important"), minimum_years=10),
        Tier("potential", _t("tier", "potential"), minimum_years=5),
        Tier("ordinary", _t("tier", "ordinary"), minimum_years=5),
    ],
    default="ordinary",
)

SCALES = Vocabulary(
    "scale",
    [
        Term("large", _t("scale", "large")),
        Term("medium", _t("scale", "medium")),
        Term("small", _t("scale", "small")),
    ],
)

# The national periods (永久, 定期30年, 定期10年) come from SAAC Order No. 10; the 5-year class
# is the company's own, from its customer archive rules.
_SAAC_10 = _t(
    "retention authority",
    "Provisions on the Filing Scope of Enterprise Documents and the Retention Periods "
    "of Enterprise Archives (SAAC Order No. 10)",
)
_COMPANY_RULES = _t("retention authority", "The company's customer archive management rules")

RETENTION_CLASSES = Vocabulary(
    "retention class",
    [
        RetentionClass(
            "permanent", _t("retention class", "permanent"), years=None, authority=_SAAC_10
        ),
        RetentionClass("long", _t("retention class", "long"), years=30, authority=_SAAC_10),
        RetentionClass("medium", _t("retention class", "medium"), years=10, authority=_SAAC_10),
        RetentionClass("short", _t("retention class", "short"), years=5, authority=_COMPANY_RULES),
    ],
    default="medium",
)


# What may start a category's retention clock besides its date facts (a contract's expiry,
# a project's end): the retention runs from the latest of the dates a category names.
FILING, RELATIONSHIP_END, HOLD_RELEASE = "filing", "relationship_end", "hold_release"
RETENTION_EVENTS = Vocabulary(
    "retention event",
    [
        Term(FILING, _t("retention event", "filing")),
        # Waited for: until the customer relationship ends, the clock has not started.
        Term(RELATIONSHIP_END, _t("retention event", "end of the customer relationship")),
        Term(HOLD_RELEASE, _t("retention event", "release of the last hold")),
    ],
)


def retention_code(years: int | None) -> str:
    """The retention code of archive numbers: ``Y`` for permanent, else ``D`` and the years."""
    return "Y" if years is None else f"D{years}"


# Why a hold case holds (保全依据): the basis a case is opened on.
HOLD_BASES = Vocabulary(
    "hold basis",
    [
        Term("dispute", _t("hold basis", "dispute")),
        Term("litigation", _t("hold basis", "litigation")),
        Term("audit", _t("hold basis", "audit")),
        Term("open_matter", _t("hold basis", "open matter")),
    ],
    default="open_matter",
)

# A hold case is open until it is released (the list's filter).
HOLD_OPEN, HOLD_RELEASED = "open", "released"
HOLD_STATES = Vocabulary(
    "hold state",
    [
        Term(HOLD_OPEN, _t("hold state", "open")),
        Term(HOLD_RELEASED, _t("hold state", "released")),
    ],
)


class DocumentStatus:
    SUBMITTED = "submitted"  # uploaded, waiting for the archivist
    RETURNED = "returned"  # sent back to the clerk with a reason
    ACCEPTED = "accepted"  # in the archive, numbered
    DESTROYED = "destroyed"  # only a tombstone remains


DOCUMENT_STATUSES = Vocabulary(
    "document status",
    [
        Term(DocumentStatus.SUBMITTED, _t("document status", "submitted")),
        Term(DocumentStatus.RETURNED, _t("document status", "returned")),
        Term(DocumentStatus.ACCEPTED, _t("document status", "accepted")),
        Term(DocumentStatus.DESTROYED, _t("document status", "destroyed")),
    ],
)

# How a document's content was read (the access register's "action").
READINGS = Vocabulary(
    "reading",
    [
        Term("view", _t("reading", "view")),
        Term("preview", _t("reading", "preview")),
        Term("download", _t("reading", "download")),
        Term("thumbnail", _t("reading", "thumbnail")),
        Term("transfer", _t("reading", "transfer")),  # written into a transfer package
        # The paper original handed out to the reader, and taken back (paper.lending).
        Term("lend", _t("reading", "paper original lent")),
        Term("return", _t("reading", "paper original returned")),
    ],
)

# A version's derived files (the renditions table's "kind").
PREVIEW_PDF, THUMBNAIL = "preview_pdf", "thumbnail"
RENDITION_KINDS = (PREVIEW_PDF, THUMBNAIL)

# Why a document shows no preview: not made yet, or the reason class of a failed rendition
# (viewing.render.REASONS, and "error" for anything unexpected). The API gives the code as
# ``reason``; the web says the words.
PREVIEW_PENDING = "pending"
PREVIEW_PROBLEMS = Vocabulary(
    "preview problem",
    [
        Term(
            PREVIEW_PENDING,
            _t("preview problem", "The preview is being made; try again in a moment."),
        ),
        Term(
            "unsupported",
            _t("preview problem", "Files of this type have no preview; download the file."),
        ),
        Term(
            "timeout",
            _t("preview problem", "No preview: making it took longer than allowed."),
        ),
        Term(
            "memory",
            _t("preview problem", "No preview: the file needs more memory than allowed."),
        ),
        Term(
            "unreadable",
            _t(
                "preview problem",
                "No preview: the file cannot be read (damaged or not what its type says).",
            ),
        ),
        Term(
            "crashed",
            _t("preview problem", "No preview: the renderer crashed on this file."),
        ),
        Term(
            "conversion",
            _t("preview problem", "No preview: the office document could not be converted to PDF."),
        ),
        Term(
            "busy",
            _t(
                "preview problem",
                "No preview yet: the renderer could not start; it is tried again.",
            ),
        ),
        Term(
            "error",
            _t(
                "preview problem",
                "No preview yet: making it failed unexpectedly; it is tried again.",
            ),
        ),
    ],
)

# Why intake refused a file whose first bytes passed (archive/containers.py): the words a
# clerk reads on the upload page; the API gives the code as ``reason``.
INTAKE_REFUSALS = Vocabulary(
    "intake refusal",
    [
        Term(
            NOT_OFFICE_PACKAGE,
            _t(
                "intake refusal",
                "The file is named as a Word, Excel or PowerPoint document, but its contents "
                "are not one. Nothing was stored.",
            ),
        ),
        Term(
            PDF_APPENDED_DATA,
            _t(
                "intake refusal",
                "The PDF carries other data after its end (another file hidden in it). "
                "Nothing was stored; save or print it again as a plain PDF.",
            ),
        ),
        Term(
            NOT_BINARY_OFFICE,
            _t(
                "intake refusal",
                "The file is named as a .doc, .xls, .ppt or WPS (.wps, .et, .dps) document, but "
                "its contents are not that kind of document. Nothing was stored; check the "
                "file's extension.",
            ),
        ),
        Term(
            NOT_OPENDOCUMENT,
            _t(
                "intake refusal",
                "The file is named as an OpenDocument file (.odt, .ods, .odp), but its contents "
                "are not that kind of document. Nothing was stored.",
            ),
        ),
        Term(
            NOT_OFD,
            _t(
                "intake refusal",
                "The file is named as an OFD document, but it does not hold an OFD.xml naming "
                "its document. Nothing was stored.",
            ),
        ),
    ],
)
