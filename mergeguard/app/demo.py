"""``mergeguard demo``: a throwaway repository showing the problem mergeguard exists for.

Two branches each add a migration on the same parent revision.  git merges
them without a conflict (they are different files), yet Alembic would then
have two heads and ``alembic upgrade head`` fails.  The command line builds
the repository here and then runs the ordinary ``check main..feature`` on it.

This module writes a repository, so it drives the ``git`` executable itself
(``mergeguard.git.repository`` only ever reads).  Every call runs with a pinned identity and
dates, no global or system configuration, and none of the caller's
``GIT_DIR``-style variables, so the demo is the same on every machine.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from mergeguard.errors import MergeguardError
from mergeguard.model import frozen

MAIN, FEATURE = "main", "feature"
RANGE = f"{MAIN}..{FEATURE}"
VERSIONS = "migrations/versions"

# Variables that would point git at another repository, index or work tree.
_LOCATION_VARIABLES = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES",
)
_IDENTITY = {
    "GIT_AUTHOR_NAME": "mergeguard demo",
    "GIT_AUTHOR_EMAIL": "demo@mergeguard.invalid",
    "GIT_COMMITTER_NAME": "mergeguard demo",
    "GIT_COMMITTER_EMAIL": "demo@mergeguard.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


@frozen
class Revision:
    """One migration of the demo: its id, parent, file slug and operations."""

    revision: str
    down_revision: str | None
    message: str
    date: str
    upgrade: str
    downgrade: str

    @property
    def path(self) -> str:
        slug = self.message.lower().replace(" ", "_").replace(".", "_")
        return f"{VERSIONS}/{self.revision}_{slug}.py"


BASE = Revision(
    "a1b2c3",
    None,
    "create user table",
    "2024-01-01 09:00:00",
    "op.create_table(\n"
    "    'user',\n"
    "    sa.Column('id', sa.Integer(), primary_key=True),\n"
    "    sa.Column('name', sa.String(100), nullable=False),\n"
    ")",
    "op.drop_table('user')",
)
EMAIL = Revision(
    "b2c3d4",
    BASE.revision,
    "add email",
    "2024-01-02 10:00:00",
    "op.add_column('user', sa.Column('email', sa.String(255), nullable=True))",
    "op.drop_column('user', 'email')",
)
PHONE = Revision(
    "c3d4e5",
    BASE.revision,
    "add phone",
    "2024-01-02 11:00:00",
    "op.add_column('user', sa.Column('phone', sa.String(32), nullable=True))",
    "op.drop_column('user', 'phone')",
)


@frozen
class DemoRepository:
    """What was built: where, and which revision each branch added."""

    root: Path
    base: Revision = BASE
    ours: Revision = EMAIL  # on `feature`
    theirs: Revision = PHONE  # on `main`


def unusable_reason(directory: Path) -> str | None:
    """Why ``directory`` cannot hold the demo (None when it is absent or empty):
    the demo never writes into a directory that already holds something."""
    if not directory.exists():
        return None
    if not directory.is_dir():
        return f"{directory} exists and is not a directory"
    if any(directory.iterdir()):
        return f"{directory} exists and is not empty"
    return None


def build(directory: Path | None = None) -> DemoRepository:
    """Create the demo repository in ``directory`` (default: a new temporary
    directory that is kept, for the user to look at) and return it.

    Raises MergeguardError when git is missing or fails, or the directory
    cannot be written.
    """
    git_version()
    try:
        if directory is None:
            root = Path(tempfile.mkdtemp(prefix="mergeguard-demo-"))
        else:
            directory.mkdir(parents=True, exist_ok=True)
            root = directory
        root = root.resolve()
        _populate(root)
    except OSError as exc:
        raise MergeguardError(
            f"cannot write the demo repository: {exc}", hint="pass a writable DIR"
        ) from exc
    return DemoRepository(root)


def git_version() -> str:
    """``git --version``; a MergeguardError when git is not installed."""
    return _git(None, "--version")


def _populate(root: Path) -> None:
    """main: the configuration and BASE, then PHONE; feature (from BASE): EMAIL."""
    _git(root, "init", "--quiet")
    _git(root, "symbolic-ref", "HEAD", f"refs/heads/{MAIN}")  # any git, any init.defaultBranch
    for path, text in project_files().items():
        _write(root / path, text)
    _write(root / BASE.path, migration_text(BASE))
    _commit(root, "Set up Alembic: create the user table", BASE.date)
    _git(root, "checkout", "--quiet", "-b", FEATURE)
    _write(root / EMAIL.path, migration_text(EMAIL))
    _commit(root, "Add user.email", EMAIL.date)
    _git(root, "checkout", "--quiet", MAIN)
    _write(root / PHONE.path, migration_text(PHONE))
    _commit(root, "Add user.phone", PHONE.date)


def _commit(root: Path, message: str, date: str) -> None:
    stamp = f"{date} +0000"
    _git(root, "add", "--all")
    _git(
        root,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        message,
        env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp},
    )


def _git(cwd: Path | None, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run git in ``cwd`` with the demo's pinned environment; its stdout."""
    environment = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARIABLES}
    environment.update(_IDENTITY)
    environment.update(env or {})
    argv: Sequence[str] = ["git", "-c", "commit.gpgsign=false", *args]
    try:
        proc = subprocess.run(
            argv, cwd=cwd, env=environment, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as exc:
        raise MergeguardError(
            "git is not installed (no `git` executable on PATH)",
            hint="install git, or add it to PATH",
        ) from exc
    if proc.returncode != 0:
        detail = " ".join(proc.stderr.split()) or f"exit {proc.returncode}"
        raise MergeguardError(f"git {args[0]} failed: {detail}")
    return proc.stdout.strip()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def migration_text(revision: Revision) -> str:
    """The file ``alembic revision`` would write (the annotated template)."""
    parent = "None" if revision.down_revision is None else repr(revision.down_revision)
    return (
        f'"""{revision.message}\n\n'
        f"Revision ID: {revision.revision}\n"
        f"Revises: {revision.down_revision or ''}\n"
        f"Create Date: {revision.date}.000000\n\n"
        '"""\n'
        "from typing import Sequence, Union\n\n"
        "from alembic import op\n"
        "import sqlalchemy as sa\n\n\n"
        "# revision identifiers, used by Alembic.\n"
        f"revision: str = {revision.revision!r}\n"
        f"down_revision: Union[str, Sequence[str], None] = {parent}\n"
        "branch_labels: Union[str, Sequence[str], None] = None\n"
        "depends_on: Union[str, Sequence[str], None] = None\n\n\n"
        f"def upgrade() -> None:\n{_indent(revision.upgrade)}\n\n\n"
        f"def downgrade() -> None:\n{_indent(revision.downgrade)}\n"
    )


def _indent(body: str) -> str:
    return "\n".join("    " + line for line in body.splitlines())


def project_files() -> dict[str, str]:
    """alembic.ini, env.py and script.py.mako of a plain ``alembic init``
    project (trimmed), so that ``alembic heads`` and ``mergeguard fix`` work
    in the demo too."""
    return {
        ".gitignore": "*.db\n__pycache__/\n",
        "alembic.ini": ALEMBIC_INI,
        "migrations/env.py": ENV_PY,
        "migrations/script.py.mako": SCRIPT_MAKO,
    }


ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
path_separator = os
sqlalchemy.url = sqlite:///demo.db

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %%(levelname)-5.5s [%%(name)s] %%(message)s
"""

ENV_PY = """\
from logging.config import fileConfig

from alembic import context
from sqlalchemy import engine_from_config, pool

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)

target_metadata = None


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
"""

SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
${imports if imports else ""}

# revision identifiers, used by Alembic.
revision: str = ${repr(up_revision)}
down_revision: Union[str, Sequence[str], None] = ${repr(down_revision)}
branch_labels: Union[str, Sequence[str], None] = ${repr(branch_labels)}
depends_on: Union[str, Sequence[str], None] = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


def story(built: DemoRepository) -> str:
    """The narrative before the findings (for stderr: stdout is the findings)."""
    base, ours, theirs = built.base, built.ours, built.theirs
    lines = [
        f"mergeguard demo: a throwaway git repository in {built.root}",
        "",
        f"  main     {base.revision} {base.message} <- {theirs.revision} {theirs.message}",
        f"  feature  {base.revision} {base.message} <- {ours.revision} {ours.message}",
        "",
        f"Two branches each added a migration on {base.revision}; git merges them cleanly",
        "(they are different files), but Alembic would then have two heads and",
        "`alembic upgrade head` would fail.  Here is what mergeguard sees:",
        "",
        "$ mergeguard check main..feature",
    ]
    return "\n".join(lines)


def next_steps(built: DemoRepository) -> str:
    """The commands to try next, after the findings (for stderr)."""
    steps = [
        (
            "git switch feature && mergeguard fix --rebase main..feature",
            f"re-point {built.ours.revision} onto {built.theirs.revision}",
        ),
        ("git merge feature && mergeguard fix --merge", "or merge, then write the merge revision"),
    ]
    width = max(len(command) for command, _ in steps)
    lines = ["", "Next, try the fixes in the demo repository:"]
    lines.append(f"  cd {shlex.quote(str(built.root))}")
    lines += [f"  {command.ljust(width)}   # {why}" for command, why in steps]
    return "\n".join(lines)
