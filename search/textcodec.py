"""Text of unknown encoding, the visible text of HTML and the readable parts of an e-mail:
used by text extraction (:mod:`search.extract`) for TXT/CSV, HTML and EML."""

from __future__ import annotations

from collections.abc import Iterator


def decode_text(data: bytes) -> str:
    """Bytes of unknown encoding as text: UTF-8 (with or without BOM), else a detected
    Chinese or other encoding; GBK and GB2312 are read as GB18030, their superset."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A cut in the middle of a character at the very end is still UTF-8.
        if exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return data[: exc.start].decode("utf-8")
    return data.decode(_detect_encoding(data), errors="replace")


def _detect_encoding(data: bytes) -> str:
    """GB18030 or Big5 for Chinese text; charset-normalizer's guess for anything else."""
    sample = data[: 256 * 1024]
    candidates = []
    for encoding in ("gb18030", "big5"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 4:  # not just a character cut at the end
                continue
            text = sample[: exc.start].decode(encoding)
        candidates.append((_chinese_score(text, encoding), encoding))
    if candidates:
        return max(candidates)[1]
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    return best.encoding if best is not None else "utf-8"


def _chinese_score(text: str, encoding: str) -> float:
    """How plausible ``text`` is as Chinese: the share of common characters.

    Big5 bytes often also decode as GB18030 (and the reverse) into rare characters;
    common ones win. Ties go to GB18030, the mainland standard.
    """
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not han:
        return 0.5 if encoding == "gb18030" else 0.0
    common = _common_chars()
    return sum(1 for c in han if c in common) / len(han) + (0.001 if encoding == "gb18030" else 0)


_COMMON: frozenset[str] | None = None


def _common_chars() -> frozenset[str]:
    """The ~6,700 characters of GB2312 plus their traditional forms: everyday Chinese."""
    global _COMMON
    if _COMMON is None:
        chars = set()
        for hi in range(0xB0, 0xF8):
            for lo in range(0xA1, 0xFF):
                try:
                    chars.add(bytes([hi, lo]).decode("gb2312"))
                except UnicodeDecodeError:
                    continue
        from zhconv import convert

        simplified = "".join(chars)
        chars.update(convert(simplified, "zh-hant"))
        chars.update(convert(simplified, "zh-tw"))
        _COMMON = frozenset(chars)
    return _COMMON


def html_to_text(markup: str) -> str:
    """Visible text of an HTML document (no scripts, styles or tags)."""
    from html.parser import HTMLParser

    class _Text(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.parts: list[str] = []
            self.hidden = 0

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag in ("script", "style", "template", "noscript"):
                self.hidden += 1
            elif tag in ("br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "td", "th"):
                self.parts.append("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag in ("script", "style", "template", "noscript") and self.hidden:
                self.hidden -= 1

        def handle_data(self, data: str) -> None:
            if not self.hidden:
                self.parts.append(data)

    parser = _Text()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def mail_text(data: bytes) -> Iterator[str]:
    """The headers worth finding, the text and HTML bodies (as text) and the attachments'
    names of an e-mail message, in order."""
    import email
    from email import policy

    message = email.message_from_bytes(data, policy=policy.default)
    for header in ("subject", "from", "to", "cc", "date"):
        value = message.get(header)
        if value:
            yield f"{header.capitalize()}: {value}"
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            if part.get_content_disposition() == "attachment" and part.get_filename():
                yield f"Attachment: {part.get_filename()}"
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        raw = part.get_payload(decode=True)
        payload = raw if isinstance(raw, bytes) else b""  # decode=True gives bytes for a leaf
        charset = part.get_content_charset()
        try:
            text = payload.decode(_charset(charset)) if charset else decode_text(payload)
        except (LookupError, UnicodeDecodeError):
            text = decode_text(payload)
        yield html_to_text(text) if ctype == "text/html" else text


def _charset(name: str) -> str:
    # Mail clients label GB18030 text as gb2312/gbk: decode with the superset.
    return "gb18030" if name.lower() in ("gb2312", "gbk", "x-gbk", "cp936") else name
