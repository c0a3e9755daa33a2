"""The OpenAPI describes every operation's answers: a typed success, and the 4xx codes
it can give with the error body.

Schemathesis (``test_api_fuzz.py``) checks the answers keep to these declarations; this
test makes an operation without them impossible to merge.
"""

from __future__ import annotations

from typing import Any

import pytest

from archive_service.app import create_app
from archive_service.config import Settings
from archive_service.http import DB_INT_MAX

ERROR_REF = "#/components/schemas/ErrorOut"


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    inst = tmp_path_factory.mktemp("openapi")
    app = create_app(Settings(instance_dir=inst, secret_key="x").with_defaults())
    resp = app.test_client().get("/api/v1/openapi.json")
    assert resp.status_code == 200
    found: dict[str, Any] = resp.get_json()
    return found


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]


def _typed(content: dict[str, Any]) -> bool:
    return bool(content) and all(
        media.get("schema", {}).get("$ref") or media.get("schema", {}).get("type")
        for media in content.values()
    )


def test_every_operation_has_a_typed_success(spec: dict[str, Any]) -> None:
    untyped = []
    for name, op in _operations(spec):
        success = {c: r for c, r in op["responses"].items() if c.startswith("2")}
        if len(success) != 1:
            untyped.append(f"{name}: {sorted(success)}")
            continue
        ((code, answer),) = success.items()
        if code != "204" and not _typed(answer.get("content", {})):
            untyped.append(name)
    assert untyped == []
    assert len(_operations(spec)) >= 64


def test_every_operation_declares_its_4xx_with_the_error_body(spec: dict[str, Any]) -> None:
    missing = []
    for name, op in _operations(spec):
        codes = set(op["responses"])
        params = op.get("parameters", [])
        wanted = set()
        if op.get("security"):
            wanted.add("401")
        if any(p["in"] == "path" for p in params):
            wanted.add("404")
        if "requestBody" in op or any(p["in"] == "query" for p in params):
            wanted.add("422")
        if "application/json" in op.get("requestBody", {}).get("content", {}):
            wanted.add("400")
        if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
            wanted |= {"413", "415"}
        if wanted - codes:
            missing.append(f"{name}: {sorted(wanted - codes)}")
        for code, answer in op["responses"].items():
            if code.startswith("4"):
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if schema.get("$ref") != ERROR_REF:
                    missing.append(f"{name}: {code} without the error body")
    assert missing == []


def _integers(schema: dict[str, Any], spec: dict[str, Any], where: str) -> list[tuple[str, Any]]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return _integers(spec["components"]["schemas"][name], spec, f"{where}>{name}")
    found = []
    if schema.get("type") == "integer" or "integer" in (schema.get("type") or []):
        found.append((where, schema.get("maximum")))
    for key, sub in schema.get("properties", {}).items():
        found += _integers(sub, spec, f"{where}.{key}")
    if "items" in schema:
        found += _integers(schema["items"], spec, f"{where}[]")
    return found


def test_every_number_an_operation_takes_is_bounded(spec: dict[str, Any]) -> None:
    """Query and body numbers past the database's integer are refused by their schema
    (path ids by the app's ``int`` converter)."""
    unbounded = []
    for name, op in _operations(spec):
        for p in op.get("parameters", []):
            if p["in"] != "path":
                unbounded += [
                    (f"{name} {p['name']}", m)
                    for _w, m in _integers(p.get("schema", {}), spec, p["name"])
                ]
        for media in op.get("requestBody", {}).get("content", {}).values():
            unbounded += [(f"{name} {w}", m) for w, m in _integers(media["schema"], spec, "body")]
    assert [w for w, maximum in unbounded if maximum is None or maximum > DB_INT_MAX] == []
