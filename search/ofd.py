"""Reading an OFD file (GB/T 33190-2016, 版式文档): its pages, their text and images.

An OFD is a ZIP: ``OFD.xml`` at the root names each document (``DocBody/DocRoot``, e.g.
``Doc_0/Document.xml``); a document lists its pages (``Pages/Page/@BaseLoc`` →
``Pages/Page_0/Content.xml``) and templates; a page's content holds layers of
``TextObject`` (``TextCode`` runs placed in the object's ``Boundary``), ``ImageObject``
(a ``MultiMedia`` resource), ``PathObject`` and others. Units are millimetres, the origin
is the page's top left.

For untrusted files: the ZIP is checked for bombs before anything is inflated, every
member is read with a cap, XML with a DTD is refused (no entity expansion), and the page
count is capped. Plain data out (used by text extraction in the limited child, and by the
OFD renderer in ``archive_service.viewing.render_ofd``, in its own limited child).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from search.packages import inflation_problem

MAX_PAGES = 5_000
MAX_XML_BYTES = 32 * 1024 * 1024  # one Content.xml, Document.xml, resource file
MAX_IMAGE_BYTES = 32 * 1024 * 1024
A4 = (210.0, 297.0)


class OfdError(Exception):
    """The OFD cannot be read; the message says why (never its text)."""


@dataclass(frozen=True)
class Text:
    x: float  # baseline start, mm from the page's left
    y: float  # baseline, mm from the page's top
    size: float  # mm
    text: str
    advances: tuple[float, ...] = ()  # DeltaX: gaps between characters, mm


@dataclass(frozen=True)
class Image:
    box: tuple[float, float, float, float]  # x, y, width, height (mm, from the top left)
    member: str  # the image's path inside the ZIP


@dataclass
class Page:
    width: float
    height: float
    texts: list[Text] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)

    def text(self) -> str:
        """The page's text, one text object per line, in the file's order."""
        return "\n".join(t.text for t in self.texts if t.text.strip())


def check_zip(archive: zipfile.ZipFile) -> None:
    """Refuse a ZIP whose members would inflate absurdly, before inflating any."""
    problem = inflation_problem(archive)
    if problem:
        raise OfdError(problem)


def read_pages(path: str, *, with_images: bool = False, max_pages: int = MAX_PAGES) -> list[Page]:
    """Every page of every document of the OFD at ``path``, in order."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_zip(archive)
            return _Reader(archive, with_images).pages(max_pages)
    except zipfile.BadZipFile as exc:
        raise OfdError(f"not a valid OFD (ZIP) file: {exc}") from None


def read_member(path: str, member: str, cap: int = MAX_IMAGE_BYTES) -> bytes:
    """One member's bytes (an image), capped."""
    with zipfile.ZipFile(path) as archive:
        check_zip(archive)
        return _read(archive, member, cap)


def _read(archive: zipfile.ZipFile, name: str, cap: int) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise OfdError(f"{name[:120]} is missing") from None
    if info.file_size > cap:
        raise OfdError(f"{name[:120]} is too large")
    try:
        with archive.open(info) as member:
            data = member.read(cap + 1)
    except (zipfile.BadZipFile, NotImplementedError, EOFError, ValueError, RuntimeError) as exc:
        raise OfdError(f"{name[:120]} cannot be read ({type(exc).__name__})") from None
    if len(data) > cap:
        raise OfdError(f"{name[:120]} is too large")
    return data


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    data = _read(archive, name, MAX_XML_BYTES)
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise OfdError(f"{name[:120]} declares a DTD")
    try:
        return ElementTree.fromstring(data)  # noqa: S314 - capped, no DTD (checked above)
    except ElementTree.ParseError as exc:
        raise OfdError(f"{name[:120]} is not well-formed XML ({exc})") from None


def _local(tag: object) -> str:
    return str(tag).rsplit("}", 1)[-1]


def _children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [child for child in element.iter() if _local(child.tag) == name]


def _first(element: ElementTree.Element, name: str) -> ElementTree.Element | None:
    found = _children(element, name)
    return found[0] if found else None


def _numbers(text: str | None) -> list[float]:
    try:
        return [float(n) for n in (text or "").split()]
    except ValueError:
        return []


def _resolve(base_dir: str, location: str) -> str:
    """A location inside the package: absolute from its root, or relative to ``base_dir``."""
    location = location.strip().replace("\\", "/")
    joined = (
        location.lstrip("/") if location.startswith("/") else posixpath.join(base_dir, location)
    )
    return posixpath.normpath(joined).lstrip("/")


def _box(text: str | None) -> tuple[float, float, float, float] | None:
    values = _numbers(text)
    return (values[0], values[1], values[2], values[3]) if len(values) == 4 else None


_DELTA_G = re.compile(r"g\s+(\d+)\s+(-?[\d.]+)")


def _deltas(text: str | None) -> tuple[float, ...]:
    """DeltaX / DeltaY: numbers, where ``g n d`` stands for n times d (GB/T 33190, 11.3)."""
    if not text:
        return ()
    expanded = _DELTA_G.sub(lambda m: " ".join([m.group(2)] * min(int(m.group(1)), 10_000)), text)
    try:
        return tuple(float(n) for n in expanded.split())
    except ValueError:
        return ()


class _Reader:
    def __init__(self, archive: zipfile.ZipFile, with_images: bool) -> None:
        self.archive, self.with_images = archive, with_images

    def pages(self, max_pages: int) -> list[Page]:
        names = set(self.archive.namelist())
        if "OFD.xml" not in names:
            raise OfdError("no OFD.xml at the root")
        root = _xml(self.archive, "OFD.xml")
        if _local(root.tag) != "OFD":
            raise OfdError("OFD.xml is not an OFD entry file")
        docs = [_resolve("", (e.text or "")) for e in _children(root, "DocRoot") if e.text]
        if not docs:
            raise OfdError("OFD.xml names no document")
        pages: list[Page] = []
        for doc in docs:
            pages.extend(self._document(doc, max_pages - len(pages)))
        return pages

    def _document(self, doc: str, room: int) -> list[Page]:
        document = _xml(self.archive, doc)
        doc_dir = posixpath.dirname(doc)
        area = _first(document, "PageArea")
        physical = _first(area, "PhysicalBox") if area is not None else None
        default = _box(physical.text) if physical is not None else None
        size = (default[2], default[3]) if default else A4
        media = self._media(document, doc_dir) if self.with_images else {}
        templates = {
            t.get("ID", ""): _resolve(doc_dir, t.get("BaseLoc", ""))
            for t in _children(document, "TemplatePage")
            if t.get("BaseLoc")
        }
        pages_element = _first(document, "Pages")
        entries = _children(pages_element, "Page") if pages_element is not None else []
        if len(entries) > room:
            raise OfdError(f"more than {MAX_PAGES} pages")
        out = []
        for number, entry in enumerate(entries, start=1):
            location = entry.get("BaseLoc")
            if not location:
                raise OfdError(f"page {number} names no content")
            name = _resolve(doc_dir, location)
            if name not in self.archive.NameToInfo:
                raise OfdError(f"page {number}: its content {name[:120]} is missing")
            content = _xml(self.archive, name)
            page_box = _first(content, "PhysicalBox")
            box = _box(page_box.text) if page_box is not None else None
            page = Page(*((box[2], box[3]) if box else size))
            for template in _children(content, "Template"):
                template_name = templates.get(template.get("TemplateID", ""))
                if template_name and template_name in self.archive.NameToInfo:
                    self._objects(_xml(self.archive, template_name), page, media)
            self._objects(content, page, media)
            out.append(page)
        return out

    def _media(self, document: ElementTree.Element, doc_dir: str) -> dict[str, str]:
        """MultiMedia resource ID → the image's path in the package."""
        found: dict[str, str] = {}
        common = _first(document, "CommonData")
        if common is None:
            return found
        for tag in ("DocumentRes", "PublicRes"):
            for res in _children(common, tag):
                name = _resolve(doc_dir, res.text or "")
                if name not in self.archive.NameToInfo:
                    continue
                resources = _xml(self.archive, name)
                base = _resolve(posixpath.dirname(name), resources.get("BaseLoc", ""))
                for item in _children(resources, "MultiMedia"):
                    file = _first(item, "MediaFile")
                    if item.get("Type", "Image") == "Image" and file is not None and file.text:
                        found[item.get("ID", "")] = _resolve(base, file.text)
        return found

    def _objects(self, content: ElementTree.Element, page: Page, media: dict[str, str]) -> None:
        for element in content.iter():
            tag = _local(element.tag)
            if tag == "TextObject":
                self._text(element, page)
            elif tag == "ImageObject" and self.with_images:
                box = _box(element.get("Boundary"))
                member = media.get(element.get("ResourceID", ""))
                if box and member:
                    page.images.append(Image(box, member))

    def _text(self, element: ElementTree.Element, page: Page) -> None:
        box = _box(element.get("Boundary")) or (0.0, 0.0, page.width, page.height)
        try:
            size = float(element.get("Size", "3.5"))
        except ValueError:
            size = 3.5
        x, y = 0.0, 0.0
        for code in element:
            if _local(code.tag) != "TextCode":
                continue
            x = _float(code.get("X"), x)
            y = _float(code.get("Y"), y)
            text = code.text or ""
            page.texts.append(Text(box[0] + x, box[1] + y, size, text, _deltas(code.get("DeltaX"))))


def _float(value: str | None, default: float) -> float:
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default
