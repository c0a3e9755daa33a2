"""The floor for benchmarks/upload_bench.py: a WSGI app with no service behind it, served
by the same gunicorn command as the web service (``gunicorn upload_floor:app``).

* ``POST /raw``  — the request body copied to a file, 256 KiB at a time (the least an
  HTTP upload can cost through this server);
* ``POST /form`` — a plain werkzeug form upload: ``request.files["file"]`` (spooled by
  werkzeug into ``ARCHIVE_TEMP_DIR``, as the service's uploads are) saved to a file.

Files go to ``UPLOAD_FLOOR_DIR`` (the benchmark removes the folder after the run), on
the disk the service's local object store writes to; unlike the store they are not
fsynced, so the floor is the lower bound.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import IO, Any

from flask import Flask, jsonify, request
from flask.wrappers import Request

TEMP_DIR = os.environ.get("ARCHIVE_TEMP_DIR") or tempfile.gettempdir()
OUT = Path(os.environ.get("UPLOAD_FLOOR_DIR") or tempfile.gettempdir())
CHUNK = 256 << 10


class SpoolingRequest(Request):
    """Spool file parts into the same private temp area the service's requests use."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return tempfile.TemporaryFile(dir=TEMP_DIR)  # noqa: SIM115 - werkzeug closes it


app = Flask(__name__)
app.request_class = SpoolingRequest
app.config["MAX_CONTENT_LENGTH"] = 1 << 30


def _target() -> Path:
    return OUT / uuid.uuid4().hex


@app.get("/health")
def health() -> Any:
    return jsonify(ok=True)


@app.post("/raw")
def raw() -> Any:
    path = _target()
    with path.open("wb") as out:
        shutil.copyfileobj(request.stream, out, CHUNK)
    return jsonify(size=path.stat().st_size), 201


@app.post("/form")
def form() -> Any:
    upload = request.files["file"]
    path = _target()
    upload.save(path, CHUNK)
    return jsonify(size=path.stat().st_size, title=request.form.get("title")), 201
