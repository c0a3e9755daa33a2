"""docker-compose.yml read as a Compose implementation reads it, without Docker.

The tests of the stack (tests/test_compose.py) and the end-to-end tests that start
its processes (tests/e2e/stack.py) read the file through this module: YAML with
anchors and ``<<`` merges, variable interpolation (``${NAME}``, ``:-``/``-``
defaults, ``:?``/``?`` mandatory values, ``$$``), an ``.env`` file that may refer
to its own earlier lines, profiles, and the long forms of volumes, secrets,
environment and depends_on that ``docker compose config`` prints. The file itself
is checked against the Compose Specification's JSON schema, vendored in
``tests/compose_spec/`` (see the README there).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
SCHEMA_FILE = Path(__file__).resolve().parent / "compose_spec" / "compose-spec.json"
# check-jsonschema 0.39.0 (PyPI), check_jsonschema/builtin_schemas/vendor/compose-spec.json
SCHEMA_SHA256 = "d549057ebc2925f39f62799eab0db7b9e2c18b35b6c00595199116da3ed10e64"

_INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


class MissingVariable(KeyError):
    """A ``${NAME:?message}`` without a value: compose refuses to start with the message."""


def interpolate(value: str, values: Mapping[str, str]) -> str:
    """Compose's interpolation of one string from ``values`` (the environment and .env)."""

    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        if m.group("bare"):
            return values.get(m.group("bare"), "")
        name, op, arg = m.group("name"), m.group("op"), m.group("arg") or ""
        given = values.get(name)
        unset = given is None
        empty = unset or given == ""
        if (op == ":?" and empty) or (op == "?" and unset):
            raise MissingVariable(f"required variable {name} is missing a value: {arg}")
        if (op == ":-" and empty) or (op == "-" and unset):
            return interpolate(arg, values)
        if op == ":+":
            return "" if empty else interpolate(arg, values)
        if op == "+":
            return "" if unset else interpolate(arg, values)
        return given or ""

    return _INTERPOLATION.sub(one, value)


def dotenv(path: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An env file as compose reads it: ``KEY=VALUE`` lines, comments, quotes, and
    interpolation from the lines before (single-quoted values stay literal)."""
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            values[key.strip()] = value[1:-1]
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0]
        values[key.strip()] = interpolate(value, {**(base or {}), **values})
    return values


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file as data: anchors and merges resolved, nothing interpolated."""
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def _interpolated(node: Any, values: Mapping[str, str]) -> Any:
    if isinstance(node, str):
        return interpolate(node, values)
    if isinstance(node, list):
        return [_interpolated(v, values) for v in node]
    if isinstance(node, dict):
        return {k: _interpolated(v, values) for k, v in node.items()}
    return node


def interpolated(values: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The file with every variable filled in from ``values`` (MissingVariable if one
    that must be given is not)."""
    config: dict[str, Any] = _interpolated(load(path), values)
    return config


def resolved(values: Mapping[str, str], path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """What ``docker compose config`` shows for these variables: interpolated, the
    services of inactive profiles left out, the long forms filled in."""
    config = interpolated(values, path)
    active = {p.strip() for p in values.get("COMPOSE_PROFILES", "").split(",") if p.strip()}
    config["services"] = {
        name: _long_forms(svc)
        for name, svc in config["services"].items()
        if not svc.get("profiles") or active & set(svc["profiles"])
    }
    return config


def _long_forms(svc: dict[str, Any]) -> dict[str, Any]:
    svc = dict(svc)
    env = svc.get("environment")
    if isinstance(env, list):
        svc["environment"] = dict(item.partition("=")[::2] for item in env)
    if isinstance(svc.get("environment"), dict):
        svc["environment"] = {k: "" if v is None else str(v) for k, v in svc["environment"].items()}
    deps = svc.get("depends_on")
    if isinstance(deps, list):
        deps = {name: {} for name in deps}
    if isinstance(deps, dict):
        svc["depends_on"] = {
            name: {"condition": "service_started", "required": True, **(dep or {})}
            for name, dep in deps.items()
        }
    svc["volumes"] = [_volume(v) for v in svc.get("volumes", [])]
    svc["secrets"] = [s if isinstance(s, dict) else {"source": s} for s in svc.get("secrets", [])]
    return svc


def _volume(spec: Any) -> dict[str, Any]:
    if isinstance(spec, dict):
        return spec
    parts = str(spec).split(":")
    source, target = (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])
    mode = parts[2] if len(parts) > 2 else ""
    kind = "bind" if source.startswith((".", "/", "~")) else "volume"
    long: dict[str, Any] = {"type": kind, "source": source, "target": target}
    if "ro" in mode.split(","):
        long["read_only"] = True
    return long


def schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, checked against its pinned digest."""
    raw = SCHEMA_FILE.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    assert digest == SCHEMA_SHA256, f"{SCHEMA_FILE} is not the vendored schema ({digest})"
    data: dict[str, Any] = json.loads(raw)
    return data


def validate(config: Mapping[str, Any]) -> None:
    """Raise jsonschema's ValidationError where ``config`` breaks the Compose Specification."""
    import jsonschema

    spec = schema()
    jsonschema.validators.validator_for(spec)(
        spec, format_checker=jsonschema.FormatChecker()
    ).validate(config)
