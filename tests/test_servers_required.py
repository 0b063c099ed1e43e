"""The server fixtures' contract: a server that does not answer skips the test on a
laptop and fails it under CI=true (a CI run without its databases is never green)."""

from __future__ import annotations

import socket

import conftest
import pytest


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("postgresql", "postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"),
        ("mariadb", "mysql+pymysql://root@127.0.0.1:{port}/"),
    ],
)
@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_server_that_does_not_answer_skips_or_fails_under_ci(
    monkeypatch: pytest.MonkeyPatch, kind: str, url: str, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setitem(conftest.SERVER_URLS, kind, url.format(port=closed_port()))
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome) as caught:
        conftest.server_url(kind)
    assert str(caught.value).startswith(f"no {conftest.SERVER_NAMES[kind]} server answers at ")
    assert str(caught.value).endswith("(CI=true: the database servers are required)") == bool(ci)
