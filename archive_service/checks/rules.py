"""The check rules as pure functions: what each item concludes from the facts gathered about
a version (its digest, sniffed type, metadata, the structural probe, the extraction result,
the number series). No database, no request, no file: testable on their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archive_service.checks.vocabulary import CHECK_GROUPS, CHECK_ITEMS, NOT_APPLICABLE
from archive_service.vocabulary import Label, _t
from search.fileprobe import IMAGE, OLE, OOXML, PDF, Probe

NA = NOT_APPLICABLE.english
OK = _t("check detail", "ok")


@dataclass(frozen=True)
class Facts:
    """What was found about one version, gathered by the service."""

    stored_digest: str  # the digest recorded at upload
    digest: str | None  # the digest of the decrypted object now (None: it could not be read)
    read_error: str | None  # why the object could not be read
    declared_type: str
    sniffed_type: str | None  # what intake's sniffing says of the bytes and name now
    sniff_error: str | None
    allowed: bool  # the declared type is on the allow-list in force
    missing_metadata: tuple[str, ...]
    probe: Probe
    extraction: str  # pending | done | failed (the document's text rendition)
    extraction_error: str | None = None
    has_text: bool = False
    series_gaps: tuple[str, ...] | None = None  # None: not numbered yet (before acceptance)
    reused: frozenset[str] = field(default_factory=frozenset)  # items taken from submission


def _d(english: str) -> Label:
    """A detail's words (a template of ``{name}`` fields), translated where it is shown."""
    return _t("check detail", english)


NONE = _d("none")
AT_SUBMISSION = _d("at submission: {detail}")


@dataclass(frozen=True)
class Result:
    code: str
    passed: bool
    note: Label  # the detail's words, with ``args`` to fill in
    args: dict[str, str] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        return self.note.english.format(**self.args)

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "passed": self.passed,
            "detail": self.detail,
            "note": self.note.english,
            "args": dict(self.args),
        }


def detail_in(result: dict[str, Any], translate: Callable[[Label], str]) -> str:
    """A stored result's detail in the language ``translate`` gives (English as stored when
    the report predates translated details or the translation does not fit its fields)."""
    note, args = result.get("note"), result.get("args") or {}
    if not isinstance(note, str):
        return str(result.get("detail", ""))
    try:
        text = translate(_d(note)).format(**args)
    except (KeyError, IndexError, ValueError):
        text = note.format(**args) if args else note
    if result.get("reused"):
        return translate(AT_SUBMISSION).format(detail=text)
    return text


def _ok(code: str, note: Label = OK, **args: str | None) -> Result:
    return Result(code, True, note, {k: str(v) for k, v in args.items()})


def _fail(code: str, note: Label, **args: str | None) -> Result:
    return Result(code, False, note, {k: str(v) for k, v in args.items()})


def _na(code: str) -> Result:
    return Result(code, True, NOT_APPLICABLE)


def _unexamined(code: str, p: Probe) -> Result | None:
    """A failed item when the probe could not look at the file at all."""
    if p.error:
        return _fail(code, _d("the file could not be examined: {error}"), error=p.error)
    return None


def digest(f: Facts) -> Result:
    if f.digest is None:
        return _fail(
            "digest",
            _d("the stored object could not be read: {error}"),
            error=f.read_error or "error",
        )
    if f.digest != f.stored_digest:
        return _fail("digest", _d("the stored object's digest differs from the one recorded"))
    return _ok("digest", _d("sha256 {digest}… matches"), digest=f.digest[:16])


def content_type(f: Facts) -> Result:
    if f.sniffed_type is None:
        return (
            _fail("type", _d("{error}"), error=f.sniff_error)
            if f.sniff_error
            else _fail("type", _d("the type could not be detected"))
        )
    if f.sniffed_type != f.declared_type:
        return _fail(
            "type",
            _d("detected {detected}, declared {declared}"),
            detected=f.sniffed_type,
            declared=f.declared_type,
        )
    return _ok("type", _d("{type}"), type=f.declared_type)


def signatures(f: Facts) -> Result:
    p = f.probe
    if p.family != PDF:
        return _na("signatures")
    if p.signatures is None:
        return _unexamined("signatures", p) or _fail(
            "signatures", _d("the signatures could not be read (the PDF did not open)")
        )
    if not p.signatures:
        return _ok("signatures", _d("no signatures"))
    bad = [s.field for s in p.signatures if not (s.intact and s.valid)]
    if bad:
        return _fail(
            "signatures",
            _d("{bad} of {total} invalid: {fields}"),
            bad=str(len(bad)),
            total=str(len(p.signatures)),
            fields=", ".join(bad),
        )
    untrusted = sum(not s.trusted for s in p.signatures)
    if untrusted:
        return _ok(
            "signatures",
            _d("{total} found, all valid; {untrusted} signer(s) not chained to a trusted root"),
            total=str(len(p.signatures)),
            untrusted=str(untrusted),
        )
    return _ok("signatures", _d("{total} found, all valid"), total=str(len(p.signatures)))


def metadata(f: Facts) -> Result:
    if f.missing_metadata:
        return _fail("metadata", _d("missing: {fields}"), fields=", ".join(f.missing_metadata))
    return _ok("metadata", _d("complete"))


def whole(f: Facts) -> Result:
    p = f.probe
    if p.family not in (PDF, OLE, OOXML, IMAGE):
        return _na("whole")
    failed = _unexamined("whole", p)
    if failed:
        return failed
    if not p.parsed:
        return (
            _fail("whole", _d("{error}"), error=p.parse_error)
            if p.parse_error
            else _fail("whole", _d("the file does not parse"))
        )
    if p.pages is None:
        return _ok("whole", _d("parses to its end; the file records no page count"))
    return _ok("whole", _d("parses to its end; {pages} page(s)"), pages=str(p.pages))


def series(f: Facts) -> Result:
    if f.series_gaps is None:
        return _na("series")
    if f.series_gaps:
        return _fail(
            "series", _d("missing numbers: {numbers}"), numbers=", ".join(f.series_gaps[:20])
        )
    return _ok("series", _d("no gap"))


def readable(f: Facts) -> Result:
    if f.extraction == "failed":
        return _fail(
            "readable",
            _d("text extraction failed: {error}"),
            error=(f.extraction_error or "")[:200],
        )
    if f.extraction != "done":
        return _fail("readable", _d("text extraction has not finished yet"))
    if not f.has_text:
        return _fail("readable", _d("the file yields no text"))
    return _ok("readable", _d("text extracted"))


def not_encrypted(f: Facts) -> Result:
    p = f.probe
    if p.family not in (PDF, OLE, OOXML):
        return _na("not_encrypted")
    if p.encrypted is None:
        return _unexamined("not_encrypted", p) or _na("not_encrypted")
    if p.encrypted:
        return _fail("not_encrypted", _d("the file is password-protected or encrypted"))
    return _ok("not_encrypted", _d("not encrypted"))


def fonts(f: Facts) -> Result:
    p = f.probe
    if p.family != PDF:
        return _na("fonts")
    if p.fonts_missing is None:
        return _unexamined("fonts", p) or _fail("fonts", _d("the fonts could not be read"))
    if p.fonts_missing:
        return _fail(
            "fonts",
            _d("neither embedded nor available: {fonts}"),
            fonts=", ".join(p.fonts_missing),
        )
    return _ok("fonts", _d("embedded or available"))


def macros(f: Facts) -> Result:
    p = f.probe
    if p.family not in (OLE, OOXML):
        return _na("macros")
    if p.macros is None:
        return _unexamined("macros", p) or _fail("macros", _d("macros could not be looked for"))
    if p.encrypted:
        return _fail("macros", _d("encrypted: macros cannot be looked for"))
    if p.macros:
        return _fail("macros", _d("the file carries VBA macros"))
    return _ok("macros", NONE)


def executables(f: Facts) -> Result:
    p = f.probe
    if p.family not in (PDF, OLE, OOXML):
        return _na("executables")
    if p.executables is None:
        return _unexamined("executables", p) or _fail(
            "executables", _d("embedded objects could not be looked for")
        )
    if p.executables:
        return _fail("executables", _d("embedded: {names}"), names=", ".join(p.executables[:10]))
    return _ok("executables", NONE)


def active_content(f: Facts) -> Result:
    p = f.probe
    if p.family != PDF:
        return _na("active_content")
    if p.javascript is None:
        return _unexamined("active_content", p) or _fail(
            "active_content", _d("the PDF could not be examined")
        )
    if p.javascript and p.launch:
        return _fail("active_content", _d("found: JavaScript, launch action"))
    if p.javascript or p.launch:
        what = _d("found: JavaScript") if p.javascript else _d("found: launch action")
        return _fail("active_content", what)
    return _ok("active_content", NONE)


def attachments(f: Facts) -> Result:
    p = f.probe
    if p.family not in (PDF, OOXML):
        return _na("attachments")
    if p.attachments is None:
        return _unexamined("attachments", p) or _fail(
            "attachments", _d("embedded files could not be looked for")
        )
    if p.attachments:
        return _fail("attachments", _d("{count} embedded file(s)"), count=str(p.attachments))
    return _ok("attachments", NONE)


def allowed_type(f: Facts) -> Result:
    if not f.allowed:
        return _fail("allowed_type", _d("{type} is not on the allow-list"), type=f.declared_type)
    return _ok("allowed_type", _d("{type}"), type=f.declared_type)


RULES = {
    "digest": digest,
    "type": content_type,
    "signatures": signatures,
    "metadata": metadata,
    "whole": whole,
    "series": series,
    "readable": readable,
    "not_encrypted": not_encrypted,
    "fonts": fonts,
    "macros": macros,
    "executables": executables,
    "active_content": active_content,
    "attachments": attachments,
    "allowed_type": allowed_type,
}
assert set(RULES) == set(CHECK_ITEMS.codes), "every item has its rule"  # noqa: S101


def evaluate(f: Facts) -> list[Result]:
    """Every item's result, in the vocabulary's order."""
    return [RULES[item.code](f) for item in CHECK_ITEMS]


def blocking(results: list[dict[str, Any]]) -> list[str]:
    """Codes of the mandatory items that failed: what stops an acceptance."""
    return [
        r["code"]
        for r in results
        if not r["passed"] and r["code"] in CHECK_ITEMS and CHECK_ITEMS[r["code"]].mandatory
    ]


def grouped(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The four-part shape: each group, whether its mandatory items passed, and its items."""
    out: dict[str, dict[str, Any]] = {g.code: {"passed": True, "items": []} for g in CHECK_GROUPS}
    for r in results:
        item = CHECK_ITEMS.get(r["code"])
        if item is None:
            continue  # an item no longer in the vocabulary
        group = out[item.group]
        group["items"].append({**r, "mandatory": item.mandatory, "item": item})
        if item.mandatory and not r["passed"]:
            group["passed"] = False
    return out
