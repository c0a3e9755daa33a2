"""How this process serves HTTP without letting plaintext or load escape its bounds: the
embedded start's waitress server (``archive run``) and the production WSGI entry
(``gunicorn wsgi:app``, whose own limits are in docker-compose.yml).

- Every temporary file of the serving process goes into ``ARCHIVE_TEMP_DIR``. waitress
  spools a request body over ``inbuf_overflow`` (512 KiB) and a response over
  ``outbuf_overflow`` into ``tempfile.TemporaryFile()`` with no directory, which follows
  ``tempfile.tempdir``, else ``$TMPDIR``, else the system ``/tmp``; both are set here.
- A body over ``ARCHIVE_MAX_UPLOAD_MB`` (plus the multipart margin) is refused from its
  Content-Length before a byte of it is read (waitress's ``max_request_body_size``; Flask's
  ``MAX_CONTENT_LENGTH`` says the same to gunicorn's workers).
- Connections are bounded: at most ``ARCHIVE_WEB_CONNECTION_LIMIT`` at once, and one that
  sends nothing for ``ARCHIVE_WEB_CHANNEL_TIMEOUT_SECONDS`` is closed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from archive_service.config import Settings

# Room for the multipart envelope and the form's other fields around the largest file.
BODY_MARGIN = 1 << 20
# Request line and headers: a browser's cookies and a bearer token fit many times over.
MAX_HEADER_BYTES = 64 * 1024


def max_body_bytes(settings: Settings) -> int:
    """The largest request body the service reads at all."""
    return settings.max_upload_mb * 1024 * 1024 + BODY_MARGIN


def confine_temp_files(settings: Settings) -> Path:
    """Make the private temp area (0700) this process's (and its children's) temp dir."""
    path = Path(settings.temp_dir)
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ["TMPDIR"] = str(path)
    tempfile.tempdir = str(path)
    return path


def waitress_options(settings: Settings) -> dict[str, Any]:
    """The embedded server's bounds, as waitress.create_server keywords."""
    timeout = settings.web_channel_timeout_seconds
    return {
        "max_request_body_size": max_body_bytes(settings),
        "max_request_header_size": MAX_HEADER_BYTES,
        "connection_limit": settings.web_connection_limit,
        "channel_timeout": timeout,
        # How often idle channels are looked for: no later than the timeout itself.
        "cleanup_interval": max(1, min(30, timeout)),
    }
