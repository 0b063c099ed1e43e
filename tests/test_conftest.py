"""The contracts of conftest's helpers, so that the tests built on them cannot pass
by accident: a server that does not answer skips the test on a laptop and fails it
under CI=true; set_upgrade fails when the file has no empty body to replace."""

from __future__ import annotations

import socket
from pathlib import Path

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


def test_set_upgrade_replaces_both_bodies(repo: conftest.RepoBuilder) -> None:
    conftest.alembic_project(repo)
    path = conftest.alembic_revision(repo, "b2", "second")
    conftest.set_upgrade(path, "op.execute('up')", "op.execute('down')")
    text = path.read_text()
    assert '"""Upgrade schema."""\n    op.execute(\'up\')\n' in text
    assert '"""Downgrade schema."""\n    op.execute(\'down\')\n' in text
    assert "    pass" not in text


@pytest.mark.parametrize("edited", ["Upgrade", "Downgrade"])
def test_set_upgrade_fails_when_its_replacement_does_not_match(
    repo: conftest.RepoBuilder, edited: str
) -> None:
    conftest.alembic_project(repo)
    path = conftest.alembic_revision(repo, "b2", "second")
    path.write_text(path.read_text().replace(f'"""{edited} schema."""', '"""Other words."""'))
    before = path.read_text()
    with pytest.raises(AssertionError, match=f"no single empty {edited.lower()}"):
        conftest.set_upgrade(path, "op.execute('up')")
    assert path.read_text() == before  # nothing half-written


def test_set_upgrade_on_a_file_already_edited_fails(tmp_path: Path) -> None:
    path = tmp_path / "b2_second.py"
    path.write_text("def upgrade():\n    op.execute('x')\n")
    with pytest.raises(AssertionError):
        conftest.set_upgrade(path, "pass")


def test_pytest_q_still_prints_the_summary_line() -> None:
    """addopts' -q plus the command line's -q is -qq, where pytest drops "N passed";
    conftest keeps quiet at -q so CI's log ends with the count."""
    import re
    import subprocess
    import sys

    here = Path(__file__).resolve()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            f"{here}::test_set_upgrade_on_a_file_already_edited_fails",
        ],
        cwd=here.parent.parent,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^1 passed in [0-9.]+s", done.stdout, re.MULTILINE), done.stdout
