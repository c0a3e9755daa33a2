"""The production stack: docker-compose.yml, .env.example, Dockerfile, .dockerignore.

Three kinds of checks, all of which run anywhere (no Docker needed):

* text checks (every ``ARCHIVE_*`` variable is documented or set, no secret is
  written into the compose file, the Dockerfile's basics);
* the file against the Compose Specification's JSON schema (vendored in
  ``tests/compose_spec/``), raw and interpolated from ``.env.example``;
* checks of the *resolved* configuration — what ``docker compose --env-file
  .env.example config`` shows — read by ``tests/compose.py`` (YAML anchors and
  merges, interpolation, profiles, long forms): the single index consumer,
  health checks and dependency gates, secrets and shared settings.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests import compose

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

CELERY_APP = "workers.celery_app:celery"
APP_SERVICES = {"init", "web", "worker", "indexer", "beat"}
EXPECTED_SERVICES = APP_SERVICES | {"postgres", "redis", "minio"}
LONG_RUNNING_APP_SERVICES = APP_SERVICES - {"init"}
# Names of settings that hold a credential (not a path to one, like KEYRING_SECRET_FILE).
SECRET_NAME = re.compile(r"(PASSWORD|SECRET_KEY|ACCESS_KEY|TOKEN)$", re.IGNORECASE)
ARCHIVE_VAR = re.compile(r"\bARCHIVE_[A-Z0-9_]+\b")
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>:?[-?+])?")


# --- helpers -----------------------------------------------------------------


def _strip_comment(line: str) -> str:
    """The line without a YAML/dotenv comment (``#`` at the start or after a blank)."""
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0]


def _uncommented(path: Path) -> str:
    return "\n".join(_strip_comment(line) for line in path.read_text().splitlines())


def env_example() -> dict[str, str]:
    """The assignments of .env.example (commented-out lines are documentation only)."""
    values: dict[str, str] = {}
    for raw in ENV_EXAMPLE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        assert "=" in line, f".env.example: not KEY=VALUE: {raw!r}"
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def option_values(cmd: list[str], short: str, long: str) -> list[str]:
    """Values of a command-line option in any spelling: -Q x, -Qx, --queues x, --queues=x."""
    found = []
    for i, arg in enumerate(cmd):
        if arg in (short, long):
            if i + 1 < len(cmd):
                found.append(cmd[i + 1])
        elif arg.startswith(long + "="):
            found.append(arg[len(long) + 1 :])
        elif arg.startswith(short) and not arg.startswith("--") and len(arg) > len(short):
            found.append(arg[len(short) :].lstrip("="))
    return found


def queues(cmd: list[str]) -> set[str]:
    return {q.strip() for v in option_values(cmd, "-Q", "--queues") for q in v.split(",")}


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    return [str(v) for v in value]


def is_celery_worker(cmd: list[str]) -> bool:
    return "celery" in cmd[:1] and "worker" in cmd


def healthcheck_enabled(service: dict[str, Any]) -> bool:
    hc = service.get("healthcheck")
    if not hc or hc.get("disable"):
        return False
    test = as_list(hc.get("test"))
    return bool(test) and test[0] != "NONE"


# --- text checks (always run) ----------------------------------------------------


def test_every_archive_variable_is_in_env_example_or_set_in_compose() -> None:
    text = _uncommented(COMPOSE_FILE)
    documented = set(env_example())
    missing = []
    for name in sorted(set(ARCHIVE_VAR.findall(text))):
        if name in documented:
            continue
        # Without an .env.example entry, every use must give the value itself:
        # a literal in an environment mapping, or ${NAME:-default}.
        interpolations = [m for m in INTERPOLATION.finditer(text) if m.group("name") == name]
        no_default = [m for m in interpolations if m.group("op") not in (":-", "-")]
        key_uses = re.findall(rf"^\s*-?\s*{name}\s*[:=]?\s*(.*)$", text, re.MULTILINE)
        passthrough = [v for v in key_uses if not v.strip()]
        if no_default or passthrough or not (interpolations or key_uses):
            missing.append(name)
    assert not missing, (
        f"ARCHIVE_* variables used in docker-compose.yml without a value there "
        f"and without an entry in .env.example: {missing}"
    )


def test_env_example_has_no_stale_archive_variables() -> None:
    text = _uncommented(COMPOSE_FILE)
    unused = [k for k in env_example() if k.startswith("ARCHIVE_") and k not in text]
    assert not unused, (
        f".env.example sets ARCHIVE_* variables docker-compose.yml never uses: {unused}"
    )


def test_env_example_secrets_are_placeholders() -> None:
    secrets = {k: v for k, v in env_example().items() if SECRET_NAME.search(k)}
    assert {"POSTGRES_PASSWORD", "ARCHIVE_SECRET_KEY", "ARCHIVE_ADMIN_PASSWORD"} <= set(secrets)
    for key, value in secrets.items():
        assert "CHANGE-ME" in value, f".env.example: {key} should be a CHANGE-ME placeholder"


def test_no_secret_value_is_written_into_compose_file() -> None:
    raw = COMPOSE_FILE.read_text()
    # 1. none of the example secret values is copied into the file
    for key, value in env_example().items():
        if SECRET_NAME.search(key) and value:
            assert value not in raw, f"docker-compose.yml contains the value of {key}"
    # 2. every secret-looking setting is interpolated, never a literal
    text = _uncommented(COMPOSE_FILE)
    for m in re.finditer(r"^\s*-?\s*([A-Za-z0-9_]+)\s*[:=]\s*(\S.*)$", text, re.MULTILINE):
        key, value = m.group(1), m.group(2).strip().strip("'\"")
        if SECRET_NAME.search(key) and key.upper() == key:
            assert value.startswith("${"), f"docker-compose.yml: {key} has a literal value"
    # 3. no credentials inside URLs
    for m in re.finditer(r"://[^\s:/@\"']+:([^\s@\"']+)@", text):
        assert m.group(1).startswith("${"), "docker-compose.yml: a URL with a literal password"


def test_minio_image_is_pinned_and_overridable() -> None:
    text = _uncommented(COMPOSE_FILE)
    images = re.findall(r"^\s*image:\s*(\S+)\s*$", text, re.MULTILINE)
    minio = [i for i in images if "minio" in i]
    assert minio, "no MinIO image in docker-compose.yml"
    for image in minio:
        assert image.startswith("${S3_IMAGE:-"), (
            f"MinIO image not overridable via S3_IMAGE: {image}"
        )
        assert re.search(r":RELEASE\.\d{4}-\d\d-\d\dT", image), f"MinIO image not pinned: {image}"


def test_dockerfile_basics() -> None:
    text = DOCKERFILE.read_text()
    assert "python:3.11-slim-bookworm" in text
    assert re.search(r"PYTHONDONTWRITEBYTECODE=1", text)
    assert "libmagic1" in text
    assert re.search(r"pip install (--no-deps )?\.(\s|$)", text), "the image must `pip install .`"
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users, "the image must switch to an unprivileged user"
    assert users[-1].split(":")[0] not in {"root", "0"}
    baked = re.findall(r"\b\w*(?:PASSWORD|SECRET_KEY|ACCESS_KEY|TOKEN)\w*\s*=", text, re.IGNORECASE)
    assert not baked, f"Dockerfile bakes in a secret: {baked}"


def test_dockerignore_keeps_secrets_out_and_sources_in() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for must in (".env", ".git/", "secrets/", "instance/"):
        assert must in patterns, f".dockerignore should exclude {must}"
    for needed in ("pyproject.toml", "README.md", "wsgi.py", "archive_service/", "workers/"):
        assert needed not in patterns and needed.rstrip("/") not in patterns


# --- the Compose Specification ---------------------------------------------------


def test_compose_file_follows_the_compose_specification() -> None:
    compose.validate(compose.load())
    compose.validate(compose.interpolated(compose.dotenv(ENV_EXAMPLE)))


@pytest.mark.parametrize(
    "break_it",
    [
        lambda c: c["services"]["worker"].update(comand=["celery"]),  # misspelt key
        lambda c: c["services"]["indexer"].update(command=1),
        lambda c: c["services"]["web"]["depends_on"]["init"].update(condition="when_ready"),
        lambda c: c["services"]["redis"]["healthcheck"].update(test=5),
        lambda c: c["secrets"]["archive_keyring"].update(path="./k.json"),
    ],
    ids=["unknown-key", "command-type", "depends-condition", "healthcheck-test", "secret"],
)
def test_the_schema_check_catches_a_broken_file(break_it: Any) -> None:
    config = copy.deepcopy(compose.load())
    break_it(config)
    with pytest.raises(jsonschema.ValidationError):
        compose.validate(config)


# --- resolved configuration (read here as `docker compose config` resolves it) --------


def _resolved_config(env_file: Path = ENV_EXAMPLE) -> dict[str, Any]:
    """``docker compose --env-file ENV_FILE config`` as data, without Docker."""
    return compose.resolved(compose.dotenv(env_file))


@pytest.fixture(scope="module")
def compose_config() -> dict[str, Any]:
    return _resolved_config()


@pytest.fixture(scope="module")
def services(compose_config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose_config["services"]


def test_all_services_exist(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) >= EXPECTED_SERVICES, f"missing: {EXPECTED_SERVICES - set(services)}"


def test_index_worker_is_the_single_consumer_of_the_index_queue(
    services: dict[str, dict[str, Any]],
) -> None:
    cmd = as_list(services["indexer"]["command"])
    assert is_celery_worker(cmd) and CELERY_APP in cmd
    assert queues(cmd) == {"index"}
    assert option_values(cmd, "-c", "--concurrency") == ["1"]
    assert services["indexer"].get("deploy", {}).get("replicas", 1) == 1
    consumers = [
        name
        for name, svc in services.items()
        if is_celery_worker(as_list(svc.get("command")))
        and "index" in queues(as_list(svc["command"]))
    ]
    assert consumers == ["indexer"], f"the index queue must have one consumer, has {consumers}"


def test_worker_and_beat_commands(services: dict[str, dict[str, Any]]) -> None:
    worker = as_list(services["worker"]["command"])
    assert is_celery_worker(worker) and CELERY_APP in worker
    assert queues(worker) == {"default"}
    assert option_values(worker, "-c", "--concurrency") == ["2"]
    beat = as_list(services["beat"]["command"])
    assert beat[:1] == ["celery"] and CELERY_APP in beat and "beat" in beat
    schedule = option_values(beat, "-s", "--schedule")
    assert schedule == ["/var/lib/archive/beat/celerybeat-schedule"]
    targets = [v["target"] for v in services["beat"].get("volumes", []) if v["type"] == "volume"]
    assert "/var/lib/archive/beat" in targets, "beat's schedule must live on a volume"


def test_web_runs_gunicorn_and_checks_health(services: dict[str, dict[str, Any]]) -> None:
    web = services["web"]
    cmd = as_list(web["command"])
    assert cmd[:2] == ["gunicorn", "wsgi:app"]
    assert "0.0.0.0:8000" in " ".join(cmd)
    assert healthcheck_enabled(web)
    assert "/api/v1/health" in " ".join(as_list(web["healthcheck"]["test"]))


# gunicorn options that bound what a client makes a worker hold, and their largest value.
GUNICORN_BOUNDS = {
    "--limit-request-line": 8190,
    "--limit-request-fields": 100,
    "--limit-request-field_size": 16384,
    "--worker-connections": 1000,
    "--keep-alive": 30,
}


def _gunicorn_limits_and_temp_files(cmd: list[str]) -> list[str]:
    wrong = []
    for option, most in GUNICORN_BOUNDS.items():
        given = option_values(cmd, option, option)
        if not given or not 0 < int(given[-1]) <= most:
            wrong.append(f"{option} must be set, at most {most} (got {given})")
    # The heartbeat files gunicorn rewrites constantly: in memory.
    if option_values(cmd, "--worker-tmp-dir", "--worker-tmp-dir") != ["/dev/shm"]:  # noqa: S108
        wrong.append("--worker-tmp-dir must be /dev/shm")
    return wrong


def test_web_bounds_requests_and_keeps_temporary_files_in_the_temp_area(
    services: dict[str, dict[str, Any]],
) -> None:
    """As the embedded server (tests/e2e/test_embedded_server_limits.py): bounded requests
    and connections, bodies refused from their Content-Length, temporary files only in
    ARCHIVE_TEMP_DIR, which lies on a tmpfs."""
    from archive_service.config import Settings
    from archive_service.serving import max_body_bytes

    web = services["web"]
    assert _gunicorn_limits_and_temp_files(as_list(web["command"])) == []
    env = web["environment"]
    temp = env["ARCHIVE_TEMP_DIR"]
    assert env.get("TMPDIR") == temp, "TMPDIR must be the temp area"
    mounts = [entry.split(":", 1)[0] for entry in web.get("tmpfs", [])]
    assert any(temp == m or temp.startswith(m.rstrip("/") + "/") for m in mounts), mounts
    # gunicorn reads no body itself: the app refuses one over the upload limit (plus the
    # multipart margin) from its Content-Length, before reading it.
    limit = max_body_bytes(Settings.from_env({k: str(v) for k, v in env.items()}))
    assert limit <= 1025 * 1024 * 1024
    # The image's own command (docker run without compose) is bounded the same way.
    cmd = re.search(r"^CMD\s+(\[.*\])\s*$", DOCKERFILE.read_text(), re.MULTILINE)
    assert cmd is not None
    assert _gunicorn_limits_and_temp_files(json.loads(cmd.group(1))) == []


def test_init_runs_archive_init_first(services: dict[str, dict[str, Any]]) -> None:
    assert as_list(services["init"]["command"]) == ["archive", "init"]
    assert services["init"].get("restart", "no") == "no"
    assert "ARCHIVE_ADMIN_PASSWORD" in services["init"]["environment"]
    for name in LONG_RUNNING_APP_SERVICES:
        dep = services[name].get("depends_on", {}).get("init")
        assert dep and dep["condition"] == "service_completed_successfully", name
        assert "ARCHIVE_ADMIN_PASSWORD" not in services[name].get("environment", {}), name


def test_every_service_is_health_checked_or_gated(services: dict[str, dict[str, Any]]) -> None:
    gating = {"service_healthy", "service_completed_successfully"}
    for name, svc in services.items():
        conditions = {d.get("condition") for d in (svc.get("depends_on") or {}).values()}
        assert healthcheck_enabled(svc) or conditions & gating, (
            f"{name}: neither a healthcheck nor a dependency condition"
        )
        for dep_name, dep in (svc.get("depends_on") or {}).items():
            if dep_name not in services:
                assert dep.get("required") is False, f"{name} depends on missing {dep_name}"
                continue
            if dep.get("condition") == "service_healthy":
                assert healthcheck_enabled(services[dep_name]), (
                    f"{name} waits for {dep_name} to be healthy, which has no healthcheck"
                )
            if dep.get("condition") == "service_completed_successfully":
                assert services[dep_name].get("restart", "no") == "no", (
                    f"{name} waits for one-shot {dep_name}, which has a restart policy"
                )


def test_long_running_services_restart(services: dict[str, dict[str, Any]]) -> None:
    for name in (LONG_RUNNING_APP_SERVICES | {"postgres", "redis", "minio"}) & set(services):
        assert services[name].get("restart") in {"always", "unless-stopped"}, name


def test_search_index_volume_written_only_by_indexer(services: dict[str, dict[str, Any]]) -> None:
    index_dir = "/var/lib/archive/index"

    def mount(name: str) -> dict[str, Any] | None:
        vols = services[name].get("volumes", [])
        return next((v for v in vols if v["target"] == index_dir), None)

    indexer, web = mount("indexer"), mount("web")
    assert indexer and indexer["type"] == "volume" and not indexer.get("read_only")
    assert web and web["source"] == indexer["source"] and web.get("read_only") is True
    for name in ("worker", "beat"):
        assert mount(name) is None, f"{name} must not mount the search index"
    for name in APP_SERVICES:
        assert services[name]["environment"]["ARCHIVE_SEARCH_INDEX_DIR"] == index_dir


def test_app_services_share_settings_and_the_keyring_secret(
    services: dict[str, dict[str, Any]],
) -> None:
    example = env_example()
    for name in APP_SERVICES:
        svc = services[name]
        env = svc["environment"]
        assert env["ARCHIVE_STORAGE"] == "s3"
        assert env["ARCHIVE_S3_ENDPOINT"] == example["ARCHIVE_S3_ENDPOINT"]
        assert env["ARCHIVE_SECRET_KEY"] == example["ARCHIVE_SECRET_KEY"]
        assert env["ARCHIVE_DATABASE_URL"].startswith("postgresql+psycopg://archive:")
        assert "${" not in env["ARCHIVE_DATABASE_URL"]
        targets = {s.get("target") or f"/run/secrets/{s['source']}" for s in svc.get("secrets", [])}
        assert env["ARCHIVE_KEYRING_FILE"] in targets, f"{name}: keyring secret not mounted"


def test_index_readers_and_writers_get_the_search_key_as_a_secret_off_the_index_volume(
    services: dict[str, dict[str, Any]],
) -> None:
    """Every process that reads or writes the index keys its terms with one key, mounted
    as a secret: never a path on the index volume, never a value in the environment."""
    paths = set()
    for name in APP_SERVICES:
        svc = services[name]
        env = svc["environment"]
        assert "ARCHIVE_SEARCH_KEY" not in env, f"{name}: the search key in the environment"
        path = env.get("ARCHIVE_SEARCH_KEY_FILE", "")
        targets = {s.get("target") or f"/run/secrets/{s['source']}" for s in svc.get("secrets", [])}
        assert path in targets, f"{name}: search key secret not mounted"
        index_dir = env["ARCHIVE_SEARCH_INDEX_DIR"].rstrip("/") + "/"
        assert not path.startswith(index_dir), f"{name}: the search key on the index volume"
        for volume in svc.get("volumes", []):
            assert not path.startswith(volume["target"].rstrip("/") + "/"), (
                f"{name}: the search key under the volume at {volume['target']}"
            )
        paths.add(path)
    assert len(paths) == 1, f"the app services read different search keys: {paths}"


def test_backing_services_are_pinned_and_checked(services: dict[str, dict[str, Any]]) -> None:
    assert services["postgres"]["image"] == "postgres:16-bookworm"
    assert services["redis"]["image"] == "redis:7.4-bookworm"
    assert "pg_isready" in " ".join(as_list(services["postgres"]["healthcheck"]["test"]))
    assert "ping" in as_list(services["redis"]["healthcheck"]["test"])
    redis_cmd = as_list(services["redis"].get("command"))
    assert option_values(redis_cmd, "--appendonly", "--appendonly") == ["yes"]
    for name in ("postgres", "redis", "minio"):
        image = services[name]["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name} image not pinned: {image}"
        assert healthcheck_enabled(services[name]), name
        assert not services[name].get("ports"), f"{name} must not publish a port"


def test_missing_mandatory_variable_stops_compose(tmp_path: Path) -> None:
    lines = [
        line
        for line in ENV_EXAMPLE.read_text().splitlines()
        if not line.startswith("ARCHIVE_SECRET_KEY=")
    ]
    env_file = tmp_path / "incomplete.env"
    env_file.write_text("\n".join(lines) + "\n")
    with pytest.raises(compose.MissingVariable, match="ARCHIVE_SECRET_KEY"):
        _resolved_config(env_file)


def test_another_s3_server_needs_only_the_profile_switched_off(tmp_path: Path) -> None:
    """Without COMPOSE_PROFILES=minio the stack is valid, without MinIO, unchanged."""
    lines = []
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.startswith("COMPOSE_PROFILES="):
            continue
        if line.startswith("ARCHIVE_S3_ENDPOINT="):
            line = "ARCHIVE_S3_ENDPOINT=s3.example.com:443"
        if line.startswith("ARCHIVE_S3_SECURE="):
            line = "ARCHIVE_S3_SECURE=true"
        lines.append(line)
    env_file = tmp_path / "external-s3.env"
    env_file.write_text("\n".join(lines) + "\n")
    services = _resolved_config(env_file)["services"]
    assert set(services) == EXPECTED_SERVICES - {"minio"}
    for name in APP_SERVICES:
        assert services[name]["environment"]["ARCHIVE_S3_ENDPOINT"] == "s3.example.com:443"
        for dep_name, dep in services[name].get("depends_on", {}).items():
            if dep_name not in services:
                assert dep.get("required") is False, f"{name} needs {dep_name}"


@pytest.mark.parametrize(
    ("check", "break_it"),
    [
        (
            "test_index_worker_is_the_single_consumer_of_the_index_queue",
            lambda c: c["services"]["worker"].update(
                command=["celery", "-A", CELERY_APP, "worker", "-Q", "default,index"]
            ),
        ),
        (
            "test_every_service_is_health_checked_or_gated",
            lambda c: c["services"]["redis"].update(healthcheck={"disable": True}),
        ),
        (
            "test_app_services_share_settings_and_the_keyring_secret",
            lambda c: c["services"]["worker"].update(secrets=["archive_signing_key"]),
        ),
        (
            "test_search_index_volume_written_only_by_indexer",
            lambda c: c["services"]["web"].update(volumes=["search-index:/var/lib/archive/index"]),
        ),
        (
            "test_index_readers_and_writers_get_the_search_key_as_a_secret_off_the_index_volume",
            lambda c: c["services"]["web"].update(secrets=["archive_keyring"]),
        ),
        (
            "test_index_readers_and_writers_get_the_search_key_as_a_secret_off_the_index_volume",
            lambda c: c["services"]["indexer"]["environment"].update(
                ARCHIVE_SEARCH_KEY_FILE="/var/lib/archive/index/search_key"
            ),
        ),
    ],
    ids=[
        "second-index-consumer",
        "unchecked-dependency",
        "keyring-not-mounted",
        "index-rw",
        "search-key-not-mounted",
        "search-key-on-index-volume",
    ],
)
def test_the_resolved_checks_catch_a_broken_stack(
    tmp_path: Path, check: str, break_it: Any
) -> None:
    """Each check fails on a stack broken the way it guards against (read the same way)."""
    import yaml

    config = copy.deepcopy(compose.load())
    break_it(config)
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(yaml.safe_dump(config, allow_unicode=True))
    services = compose.resolved(compose.dotenv(ENV_EXAMPLE), broken)["services"]
    with pytest.raises(AssertionError):
        globals()[check](services)
