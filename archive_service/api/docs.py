"""``/api/v1/docs``: the OpenAPI in Swagger UI, from our own origin under the app's CSP.

APIFlask's own page loads Swagger UI from a CDN and starts it with an inline script, which
the Content-Security-Policy (``script-src 'self'``) forbids. This page loads the vendored
copy (``web/static/vendor/swagger-ui``, version in its ``VERSION.md``) and starts it from
``static/api-docs.js``, which reads the spec's address from the page.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, render_template_string, url_for

from archive_service.api.common import blueprint
from archive_service.http import public

bp = blueprint("docs", "Documentation")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{{ title }} {{ version }}</title>
  <link rel="stylesheet" href="{{ vendor }}/swagger-ui.css">
  <link rel="stylesheet" href="{{ url_for('static', filename='api-docs.css') }}">
</head>
<body>
  <div id="swagger-ui" data-spec-url="{{ spec_url }}"></div>
  <script src="{{ vendor }}/swagger-ui-bundle.js"></script>
  <script src="{{ url_for('static', filename='api-docs.js') }}"></script>
</body>
</html>
"""


@bp.get("/docs")
@bp.doc(hide=True)
@public
def docs() -> Any:
    app: Any = current_app
    return render_template_string(
        PAGE,
        title=app.title,
        version=app.version,
        spec_url=url_for("openapi.spec"),
        vendor=url_for("static", filename="vendor/swagger-ui"),
    )
