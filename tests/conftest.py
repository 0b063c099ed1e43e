"""Shared fixtures: real git repositories with real Alembic layouts.

``RepoBuilder`` makes commits with the ``git`` executable (pinned identity and
dates, no global or system config), so every test sees what a user's
repository would hold.  ``migration_text`` writes a revision in either of
Alembic's two template styles: ``plain`` (``revision = 'x'``) and
``annotated`` (``revision: str = 'x'``, ``Union[str, Sequence[str], None]``).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from hookkit import PreCommit

STYLES = ("plain", "annotated")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
    "GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2024-01-01T00:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
path_separator = os
sqlalchemy.url = sqlite:///app.db

[loggers]
keys = root
[handlers]
keys = console
[formatters]
keys = generic
[logger_root]
level = WARN
handlers = console
[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic
[formatter_generic]
format = %%(levelname)-5.5s [%%(name)s] %%(message)s
"""


def _literal(value: str | Sequence[str] | None) -> str:
    if value is None:
        return "None"
    if isinstance(value, str):
        return repr(value)
    items = ", ".join(repr(v) for v in value)
    return f"({items},)" if len(value) == 1 else f"({items})"


def migration_text(
    revision: str,
    down_revision: str | Sequence[str] | None,
    *,
    style: str = "plain",
    message: str | None = None,
    branch_labels: str | Sequence[str] | None = None,
    depends_on: str | Sequence[str] | None = None,
    upgrade: str = "pass",
    downgrade: str = "pass",
    prelude: str = "",
) -> str:
    """A migration file as ``alembic revision`` writes it, in one template style."""
    message = message or f"revision {revision}"
    revises = (
        ""
        if down_revision is None
        else (down_revision if isinstance(down_revision, str) else ", ".join(down_revision))
    )
    doc = (
        f'"""{message}\n\nRevision ID: {revision}\nRevises: {revises}\n'
        'Create Date: 2024-01-01 00:00:00.000000\n\n"""\n'
    )
    body_up = "\n".join("    " + line for line in upgrade.splitlines())
    body_down = "\n".join("    " + line for line in downgrade.splitlines())
    if style == "plain":
        header = (
            "from alembic import op\nimport sqlalchemy as sa\n" + prelude + "\n\n"
            "# revision identifiers, used by Alembic.\n"
            f"revision = {_literal(revision)}\n"
            f"down_revision = {_literal(down_revision)}\n"
            f"branch_labels = {_literal(branch_labels)}\n"
            f"depends_on = {_literal(depends_on)}\n\n\n"
            f"def upgrade():\n{body_up}\n\n\ndef downgrade():\n{body_down}\n"
        )
    elif style == "annotated":
        header = (
            "from typing import Sequence, Union\n\n"
            "from alembic import op\nimport sqlalchemy as sa\n" + prelude + "\n\n"
            "# revision identifiers, used by Alembic.\n"
            f"revision: str = {_literal(revision)}\n"
            f"down_revision: Union[str, Sequence[str], None] = {_literal(down_revision)}\n"
            f"branch_labels: Union[str, Sequence[str], None] = {_literal(branch_labels)}\n"
            f"depends_on: Union[str, Sequence[str], None] = {_literal(depends_on)}\n\n\n"
            f"def upgrade() -> None:\n{body_up}\n\n\ndef downgrade() -> None:\n{body_down}\n"
        )
    else:  # pragma: no cover - a typo in a test
        raise ValueError(style)
    return doc + header


class RepoBuilder:
    """A real git repository in a temporary directory, driven by ``git``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, check: bool = True, input: str | None = None) -> str:
        env = {**os.environ, **GIT_ENV}
        result = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            input=input,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout.strip()

    def write(self, path: str, text: str | bytes) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text)
        return target

    def remove(self, path: str) -> None:
        (self.root / path).unlink()

    def init_alembic(self, ini: str = ALEMBIC_INI, versions: str = "migrations/versions") -> None:
        """alembic.ini + migrations/ with env.py and an empty versions dir."""
        self.write("alembic.ini", ini)
        self.write(versions.rsplit("/", 1)[0] + "/env.py", "# env.py is never read by mergeguard\n")
        self.write(versions + "/.keep", "")

    def migration(
        self,
        revision: str,
        down_revision: str | Sequence[str] | None,
        *,
        directory: str = "migrations/versions",
        filename: str | None = None,
        **kwargs: object,
    ) -> str:
        name = filename or f"{revision}_migration.py"
        path = f"{directory}/{name}"
        self.write(path, migration_text(revision, down_revision, **kwargs))  # type: ignore[arg-type]
        return path

    def commit(self, message: str = "commit") -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def branch(self, name: str, start: str = "HEAD") -> None:
        self.git("checkout", "-q", "-b", name, start)

    def checkout(self, name: str) -> None:
        self.git("checkout", "-q", name)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """pyproject's addopts holds -q; the README's and CI's ``pytest -q`` adds one more,
    and at -qq pytest drops the "N passed" line. Quiet stops at -q: the summary shows."""
    if config.option.verbose < -1:
        config.option.verbose = -1


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[RepoBuilder]:
    yield RepoBuilder(tmp_path / "repo")


@pytest.fixture(params=STYLES)
def style(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- database servers: skipped on a laptop without them, a failure under CI=true -------

# The administration URLs; the environment variables point the suite at other servers
# (or at a closed port, to check that CI=true turns a missing server into a failure).
POSTGRES_URL = os.environ.get(
    "MERGEGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_URL = os.environ.get("MERGEGUARD_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")
SERVER_URLS = {"postgresql": POSTGRES_URL, "mariadb": MARIADB_URL}
SERVER_NAMES = {"postgresql": "PostgreSQL", "mariadb": "MariaDB"}
CONNECT_TIMEOUT = 5  # seconds; a closed port answers at once, a dropped packet does not


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def server_missing(reason: str) -> NoReturn:
    """Skip; but under CI=true fail, so that a CI run without its servers is not green."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the database servers are required)", pytrace=False)
    pytest.skip(reason)


def server_url(kind: str) -> str:
    """The administration URL of the ``postgresql`` or ``mariadb`` server, once it
    answers a connection; otherwise server_missing (skip, or fail under CI=true)."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    url = SERVER_URLS[kind]
    shown = sqlalchemy.make_url(url).render_as_string(hide_password=True)
    reason = ""
    try:
        engine = sqlalchemy.create_engine(
            url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT}
        )
        with engine.connect():
            pass
        engine.dispose()
    except (ImportError, sqlalchemy.exc.SQLAlchemyError) as exc:  # no driver, no server
        reason = " ".join(str(getattr(exc, "orig", exc)).split())[:200] or type(exc).__name__
    if reason:  # outside the except: the report shows one line, not a chained traceback
        server_missing(f"no {SERVER_NAMES[kind]} server answers at {shown}: {reason}")
    return url


# -- real Alembic projects (alembic init / revision), for fix and apply -----------------

import subprocess as _subprocess  # noqa: E402
import sys as _sys  # noqa: E402


def run_alembic(repo: RepoBuilder, *args: str) -> _subprocess.CompletedProcess[str]:
    """``python -m alembic ARGS`` in the repository (the oracle, a real process)."""
    return _subprocess.run(
        [_sys.executable, "-m", "alembic", *args],
        cwd=repo.root,
        capture_output=True,
        text=True,
        check=False,
    )


def alembic_project(repo: RepoBuilder, template: str = "generic", users: bool = False) -> None:
    """``alembic init`` on SQLite, then revision a1 (creating ``users`` if asked)."""
    result = run_alembic(repo, "init", "-t", template, "migrations")
    assert result.returncode == 0, result.stderr
    ini = repo.root / "alembic.ini"
    ini.write_text(
        ini.read_text().replace("driver://user:pass@localhost/dbname", "sqlite:///app.db")
    )
    repo.write(".gitignore", "*.db\n__pycache__/\n")
    path = alembic_revision(repo, "a1", "create users")
    if users:
        set_upgrade(
            path,
            "op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True))",
            "op.drop_table('users')",
        )
    repo.commit("init")


def alembic_revision(repo: RepoBuilder, rev: str, message: str, head: str = "head") -> Path:
    splice = ("--splice",) if head != "head" else ()
    result = run_alembic(repo, "revision", "-m", message, "--rev-id", rev, "--head", head, *splice)
    assert result.returncode == 0, result.stderr
    [path] = (repo.root / "migrations" / "versions").glob(f"{rev}_*.py")
    return path


def diverged_alembic_project(repo: RepoBuilder, pyproject: str | None = None) -> RepoBuilder:
    """``alembic init``; main and feature each add a revision on a1 (MG102
    when merged), feature's adding a column (and dropping it on the way
    down, so real databases can go both ways); feature checked out.
    ``pyproject``: a pyproject.toml committed on both branches first."""
    alembic_project(repo, users=True)
    if pyproject is not None:
        repo.write("pyproject.toml", pyproject)
        repo.commit("pyproject.toml")
    repo.branch("feature")
    added = alembic_revision(repo, "b2", "add email")
    set_upgrade(
        added,
        "op.add_column('users', sa.Column('email', sa.String(50)))",
        "op.drop_column('users', 'email')",
    )
    repo.commit("feature")
    repo.checkout("main")
    alembic_revision(repo, "c3", "add phone")
    repo.commit("main")
    repo.checkout("feature")
    return repo


def set_upgrade(path: Path, upgrade: str, downgrade: str = "pass") -> None:
    """Replace the bodies of upgrade() and downgrade() of an alembic-made file."""
    text = path.read_text()
    for function, body in (("Upgrade", upgrade), ("Downgrade", downgrade)):
        empty = f'    """{function} schema."""\n    pass'
        # a template whose empty body reads otherwise must fail here, not leave a no-op
        assert text.count(empty) == 1, f"{path.name}: no single empty {function.lower()}()"
        indented = "\n".join("    " + line for line in body.splitlines())
        text = text.replace(empty, f'    """{function} schema."""\n' + indented)
    path.write_text(text)


# -- the real pre-commit, installed once per session (see tests/hookkit.py) ----------


@pytest.fixture(scope="session")
def pre_commit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PreCommit]:
    """Once per session: the snapshot, the config naming it, the installed hooks."""
    import yaml
    from hookkit import PreCommit, clean_env, snapshot_of_this_checkout

    workdir = tmp_path_factory.mktemp("pre-commit")
    snapshot = workdir / "mergeguard"
    rev = snapshot_of_this_checkout(snapshot)
    config = workdir / "pre-commit-config.yaml"
    hooks = [{"id": "mergeguard"}, {"id": "mergeguard-post-merge"}]
    config.write_text(
        yaml.safe_dump({"repos": [{"repo": str(snapshot), "rev": rev, "hooks": hooks}]})
    )
    manual = workdir / "pre-commit-config-manual.yaml"
    fixes = [
        {"id": "mergeguard"},
        {"id": "mergeguard-fix-rebase"},
        {"id": "mergeguard-fix-merge", "stages": ["manual"]},  # as the README suggests
    ]
    manual.write_text(
        yaml.safe_dump({"repos": [{"repo": str(snapshot), "rev": rev, "hooks": fixes}]})
    )
    setup = PreCommit(config, clean_env({"PRE_COMMIT_HOME": str(workdir / "home")}), manual)
    for each in (config, manual):  # one repo and rev: the second reuses the environment
        installed = setup.run(snapshot, "install-hooks", "--config", str(each))
        assert installed.returncode == 0, installed.stdout + installed.stderr
    yield setup
