"""A ``multipart/form-data`` upload read as it arrives, so its file part flows straight into
intake (sniffed, checked, hashed, encrypted, stored) instead of being spooled to a
temporary file by werkzeug first and read back.

The body is read from ``request.stream`` 256 KiB at a time and decoded by werkzeug's own
sans-IO ``MultipartDecoder`` with the request's limits (``max_form_memory_size`` per text
field, ``max_form_parts``): the same parts werkzeug's form parser would give, with the
same 413 past those limits. Text fields before the file part are collected; the file
part is a readable stream; the fields after it are read once the file is done. A body
that is not multipart, or that the decoder cannot parse before the file, gives no fields
(as werkzeug's silent parser does, so the schema names what is missing).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable, Iterator
from typing import IO, Any, TypeVar

from flask import Request
from marshmallow import Schema
from marshmallow import ValidationError as SchemaError
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from archive_service.errors import InvalidInput

CHUNK = 256 * 1024
F = TypeVar("F", bound=Callable[..., Any])
_SAFE_CHARSETS = {"ascii", "us-ascii", "utf-8", "iso-8859-1"}


def _charset(headers: Any) -> str:
    """The part's charset if it is one werkzeug's parser accepts, else UTF-8."""
    value = headers.get("content-type")
    if value:
        charset = parse_options_header(value)[1].get("charset", "").lower()
        if charset in _SAFE_CHARSETS:
            return str(charset)
    return "utf-8"


class StreamedForm:
    """The parts of one multipart body, in order: text fields and at most one file read as
    a stream (the first part named ``file_field`` that carries a filename)."""

    def __init__(self, request: Request, file_field: str = "file") -> None:
        self.fields: MultiDict[str, str] = MultiDict()
        self.file: FilePart | None = None
        self._file_field = file_field
        self._stream = request.stream
        self._events: Iterator[Any] = iter(())
        self._limit = request.max_form_memory_size
        boundary = request.mimetype_params.get("boundary", "")
        if request.mimetype != "multipart/form-data" or not boundary:
            return
        decoder = MultipartDecoder(
            boundary.encode("latin-1", "replace"),
            max_form_memory_size=self._limit,
            max_parts=request.max_form_parts,
        )
        # The decoder refuses a chunk that would make its buffer pass the form limit.
        chunk = CHUNK if self._limit is None else max(1024, min(CHUNK, self._limit // 2))
        self._events = _events(request.stream, decoder, chunk)

    def read_until_file(self) -> FilePart | None:
        """Collect the text fields up to the file part; the file part, or None if the body
        holds none (all its fields are then in ``fields``)."""
        try:
            self._collect(stop_at_file=True)
        except ValueError:  # not parseable: no fields, as werkzeug's silent parser gives
            self.fields = MultiDict()
            self._events = iter(())
        return self.file

    def read_rest(self) -> None:
        """The fields after the file part (the file's unread bytes are skipped)."""
        if self.file is not None:
            self.file.skip()
        try:
            self._collect(stop_at_file=False)
        except ValueError as exc:
            raise InvalidInput("the multipart body is malformed", field="file") from exc

    def discard(self) -> None:
        """Read and drop what is left of the body (the request is answered without it)."""
        with contextlib.suppress(Exception):
            while self._stream.read(CHUNK):
                pass

    def _collect(self, stop_at_file: bool) -> None:
        for event in self._events:
            if isinstance(event, File):
                if stop_at_file and self.file is None and event.name == self._file_field:
                    self.file = FilePart(event.filename, self._events)
                    return
                _drain(self._events)  # any other file part: not ours, its bytes skipped
            elif isinstance(event, Field):
                self.fields.add(event.name, self._text(event))

    def _text(self, field: Field) -> str:
        parts, size = [], 0
        for event in self._events:
            size += len(event.data)
            if self._limit is not None and size > self._limit:
                raise RequestEntityTooLarge()
            parts.append(event.data)
            if not event.more_data:
                break
        return b"".join(parts).decode(_charset(field.headers), "replace")

    def validate(self, schema: Schema) -> dict[str, Any]:
        """The fields (and the file, if there was one) loaded by ``schema``; 422 naming
        the fields that are missing or wrong, as the API's form input gives."""
        values: MultiDict[str, Any] = MultiDict(self.fields)
        if self.file is not None:
            values.add(self._file_field, FileStorage(io.BytesIO(), self.file.filename))
        try:
            loaded: dict[str, Any] = schema.load(MultiDictProxy(values, schema))
        except SchemaError as exc:
            from apiflask import HTTPError

            raise HTTPError(422, "Validation error", detail={"form": exc.messages}) from exc
        return loaded


def _events(stream: IO[bytes], decoder: MultipartDecoder, size: int) -> Iterator[Any]:
    """Every event of the body, data events with their bytes (never NEED_DATA)."""
    while True:
        chunk = stream.read(size)
        decoder.receive_data(chunk or None)
        event = decoder.next_event()
        while not isinstance(event, NeedData):
            if isinstance(event, Epilogue):
                return
            if isinstance(event, Data | Field | File):
                yield event
            event = decoder.next_event()
        if not chunk:
            raise ValueError("the body ended inside a part")


def _drain(events: Iterator[Any]) -> None:
    for event in events:
        if not event.more_data:
            return


class FilePart:
    """The file part's bytes as a stream: ``read(n)`` gives at most ``n`` bytes, ``b""`` at
    the end of the part. A body cut off inside it raises (the upload is not taken)."""

    def __init__(self, filename: str | None, events: Iterator[Any]) -> None:
        self.filename = filename
        self._events = events
        self._buf = b""
        self._at = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def _next(self) -> bool:
        """The next data event's bytes into the buffer; False at the end of the part."""
        while not self._done:
            try:
                event = next(self._events)
            except StopIteration:
                raise InvalidInput("the body ended inside the file", field="file") from None
            except ValueError as exc:
                raise InvalidInput("the multipart body is malformed", field="file") from exc
            self._done = not event.more_data
            if event.data:
                self._buf, self._at = event.data, 0
                return True
        self._buf, self._at = b"", 0
        return False

    def read(self, n: int = -1, /) -> bytes:
        if n < 0:
            parts = [self._buf[self._at :]]
            while self._next():
                parts.append(self._buf)
            self._buf, self._at = b"", 0
            return b"".join(parts)
        if self._at >= len(self._buf) and not self._next():
            return b""
        if self._at == 0 and len(self._buf) <= n:  # the decoder's whole piece, not copied
            out, self._buf = self._buf, b""
            return out
        out = self._buf[self._at : self._at + n]
        self._at += len(out)
        return out

    def skip(self) -> None:
        """Pass over what is left of the part."""
        while self._next():
            pass


def documented_form(bp: Any, schema: type[Schema]) -> Callable[[F], F]:
    """Declare ``schema`` as the route's multipart body in the OpenAPI, without letting
    APIFlask parse the body (the route reads it with :class:`StreamedForm`).

    ``bp.input`` annotates the view function itself and returns a wrapper that would
    parse ``request.form``; the annotation is kept, the wrapper dropped.
    """

    def decorator(view: F) -> F:
        bp.input(schema, location="form_and_files", arg_name="body")(view)
        if "body" not in getattr(view, "_spec", {}):  # APIFlask changed how it annotates
            raise RuntimeError("APIFlask did not annotate the view with its request body")
        return view

    return decorator
