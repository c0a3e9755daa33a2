"""Fixtures of the integration tests that start a server of their own for a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import unavailable
from tests.slapd import Slapd, running_slapd, slapd_available


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    """A real OpenLDAP server (Debian's slapd) with a generated directory, for the session."""
    if not slapd_available():
        unavailable("slapd is not installed (apt-get install slapd ldap-utils)")
    with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
        yield server
