"""What to read: ``[tool.mergeguard.databases]`` parsed, and settings resolved
into targets (env: variables, environments, the version table env.py names).

Pure: pyproject texts and env.py bytes in MemoryTrees; no database here
(tests/test_deployed_databases.py reads real ones).
"""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from mergeguard.config.settings import load_settings
from mergeguard.databases.targets import resolve_targets, url_settings
from mergeguard.dburls import mask, scrub, url_passwords
from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import MemoryTree
from mergeguard.model import DatabaseSetting, Environment
from mergeguard.parse.env_script import version_table_options


def settings_of(body: str) -> tuple[DatabaseSetting, ...]:
    tree = MemoryTree({"pyproject.toml": body}, origin="worktree")
    return load_settings(tree).databases


def error_of(body: str) -> MergeguardError:
    with pytest.raises(MergeguardError) as raised:
        settings_of(body)
    return raised.value


def test_the_three_forms_in_file_order() -> None:
    found = settings_of(
        "[tool.mergeguard.databases]\n"
        'staging = "env:STAGING_URL"\n'
        'local = "sqlite:///app.db"\n'
        'prod = { url = "env:PROD_URL", environment = "alembic", version_table = "v",'
        ' version_table_schema = "audit" }\n'
    )
    assert found == (
        DatabaseSetting("staging", "env:STAGING_URL"),
        DatabaseSetting("local", "sqlite:///app.db"),
        DatabaseSetting("prod", "env:PROD_URL", "alembic", "v", "audit"),
    )


def test_no_table_is_no_database() -> None:
    assert settings_of("[tool.mergeguard]\nbase = 'main'\n") == ()


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ("[tool.mergeguard]\ndatabases = 'x'\n", "[tool.mergeguard.databases] must be a table"),
        ("[tool.mergeguard.databases]\nstaging = 3\n", "staging must be a database URL"),
        ("[tool.mergeguard.databases]\nstaging = ''\n", "staging must be a database URL"),
        ("[tool.mergeguard.databases]\nstaging = 'env:'\n", "staging must name an environment"),
        ("[tool.mergeguard.databases]\nstaging = 'env:A B'\n", "staging must name an environment"),
        ("[tool.mergeguard.databases]\nstaging = { environment = 'a' }\n", "staging has no url"),
        (
            "[tool.mergeguard.databases]\nstaging = { url = 'env:X', versions_table = 'v' }\n",
            "unknown key(s) versions_table",
        ),
        (
            "[tool.mergeguard.databases]\nstaging = { url = 'env:X', environment = 3 }\n",
            "staging.environment must be a non-empty string",
        ),
    ],
)
def test_a_bad_value_names_the_file_and_key(body: str, names: str) -> None:
    error = error_of(body)
    assert error.message.startswith("pyproject.toml in worktree: [tool.mergeguard.databases]")
    assert names in error.message
    assert error.hint is not None and 'staging = "env:STAGING_DATABASE_URL"' in error.hint


def test_a_bad_url_is_never_echoed() -> None:
    error = error_of(
        "[tool.mergeguard.databases]\nstaging = { url = 'postgresql://u:pw@h/db', x = 1 }\n"
    )
    assert "pw" not in error.message + str(error.hint)


def test_too_many_databases_are_refused() -> None:
    body = "[tool.mergeguard.databases]\n" + "".join(f"d{i} = 'env:X'\n" for i in range(65))
    assert "at most 64" in error_of(body).message


# -- targets --------------------------------------------------------------------------

ONE = (
    Environment("alembic", (PurePosixPath("migrations/versions"),), PurePosixPath("migrations")),
)
TWO = ONE + (Environment("audit", (PurePosixPath("audit/versions"),), PurePosixPath("audit")),)


def targets(settings, environments=ONE, files=None, environ=None):  # type: ignore[no-untyped-def]
    tree = MemoryTree(files or {})
    return resolve_targets(settings, environments, tree.read, environ=environ or {})


def test_env_urls_are_resolved_and_masked() -> None:
    [target] = targets(
        [DatabaseSetting("staging", "env:STAGING_URL")],
        environ={"STAGING_URL": "postgresql://app:s3cr%40t@db/app"},
    )
    assert target.url == "postgresql://app:s3cr%40t@db/app"
    assert target.shown == "postgresql://app:***@db/app"
    assert "s3cr" not in repr(target)
    assert target.problem is None


def test_an_unset_variable_is_a_problem_naming_it_not_a_crash() -> None:
    [target] = targets([DatabaseSetting("staging", "env:STAGING_URL")])
    assert target.problem is not None and "STAGING_URL is not set" in target.problem
    assert target.shown == "env:STAGING_URL"
    assert target.reading(error=target.problem).error == target.problem


def test_several_environments_need_a_name() -> None:
    with pytest.raises(MergeguardError) as raised:
        targets([DatabaseSetting("staging", "sqlite:///x.db")], TWO)
    assert "several Alembic environments (alembic, audit)" in raised.value.message
    assert raised.value.hint is not None and 'environment = "NAME"' in raised.value.hint
    [chosen] = targets([DatabaseSetting("staging", "sqlite:///x.db", "audit")], TWO)
    assert chosen.environment == "audit"


def test_an_unknown_environment_is_refused() -> None:
    with pytest.raises(MergeguardError) as raised:
        targets([DatabaseSetting("staging", "sqlite:///x.db", "nope")], TWO)
    assert "'nope' is not an Alembic environment" in raised.value.message


ENV_PY = b"""
from alembic import context
VERSIONS = "deploy_versions"

def run_migrations_offline():
    context.configure(url=url, version_table="offline_only")

def run_migrations_online():
    with connectable.connect() as connection:
        context.configure(
            connection=connection, version_table=VERSIONS, version_table_schema="audit"
        )
"""


def test_the_version_table_comes_from_env_py_literals() -> None:
    [target] = targets(
        [DatabaseSetting("s", "sqlite:///x.db")], files={"migrations/env.py": ENV_PY}
    )
    assert (target.version_table, target.version_table_schema) == ("deploy_versions", "audit")


def test_the_setting_beats_env_py_and_defaults_fill_the_rest() -> None:
    [given, default] = targets(
        [
            DatabaseSetting("s", "sqlite:///x.db", version_table="mine"),
            DatabaseSetting("t", "sqlite:///y.db"),
        ],
        files={"migrations/env.py": b"context.configure(connection=c)\n"},
    )
    assert (given.version_table, given.version_table_schema) == ("mine", None)
    assert (default.version_table, default.version_table_schema) == ("alembic_version", None)


def test_a_computed_version_table_asks_for_the_setting() -> None:
    files = {"migrations/env.py": b"context.configure(version_table=os.environ['T'])\n"}
    [unknown] = targets([DatabaseSetting("s", "sqlite:///x.db")], files=files)
    assert unknown.problem is not None
    assert "migrations/env.py: passes version_table" in unknown.problem
    assert "[tool.mergeguard.databases] s" in unknown.problem
    [given] = targets([DatabaseSetting("s", "sqlite:///x.db", version_table="v")], files=files)
    assert given.problem is None and given.version_table == "v"


OFFLINE_ONLY = b"""
def run_migrations_offline():
    context.configure(url=url, version_table="offline_only")

def do_run_migrations(connection):
    context.configure(connection=connection, target_metadata=target_metadata)
"""

ASYNC_TEMPLATE = b"""
def run_migrations_offline():
    context.configure(url=url, version_table="vt_off")

def do_run_migrations(connection):
    context.configure(connection=connection, version_table="vt_on")

async def run_async_migrations():
    await connection.run_sync(do_run_migrations)
"""


def test_the_online_call_names_the_table_offline_mode_writes_none() -> None:
    """Alembic's online mode (the ``configure`` given ``connection=``) writes
    the version table: an offline-only keyword is not it (Alembic's async
    template has the online call in do_run_migrations, after the offline one)."""
    assert version_table_options(OFFLINE_ONLY).values == ()
    assert version_table_options(ASYNC_TEMPLATE).value("version_table") == "vt_on"


def test_configure_with_double_star_options_asks_for_the_setting() -> None:
    options = version_table_options(b"context.configure(connection=c, **opts)\n")
    assert options.dynamic == ("version_table", "version_table_schema")
    named = version_table_options(b"context.configure(connection=c, version_table='v', **o)\n")
    assert named.value("version_table") == "v" and named.dynamic == ("version_table_schema",)


def test_an_unreadable_env_py_asks_for_the_setting() -> None:
    files = {"migrations/env.py": b"def broken(:\n"}
    [unknown] = targets([DatabaseSetting("s", "sqlite:///x.db")], files=files)
    assert unknown.problem is not None and "not Python source" in unknown.problem
    given = DatabaseSetting("s", "sqlite:///x.db", version_table="v", version_table_schema="m")
    assert targets([given], files=files)[0].problem is None


def test_env_py_is_read_within_bounds() -> None:
    assert version_table_options(b"(" * 100_000).problem is not None
    assert version_table_options(b"x = 1\n" * 300_000).problem is not None  # over 1 MiB
    assert version_table_options(b"\xff\xfe\x00").problem is not None


def test_url_settings_are_numbered() -> None:
    assert url_settings(["sqlite:///a.db", "sqlite:///b.db"]) == (
        DatabaseSetting("url1", "sqlite:///a.db"),
        DatabaseSetting("url2", "sqlite:///b.db"),
    )


# -- masking --------------------------------------------------------------------------


def test_every_spelling_of_the_password_is_scrubbed() -> None:
    url = "postgresql://app:p%40ss@db/app?sslmode=off"
    passwords = url_passwords(url)
    message = f'FATAL: password "p@ss" rejected for {url} (p%40ss)'
    assert scrub(message, passwords) == (
        'FATAL: password "***" rejected for postgresql://app:***@db/app?sslmode=off (***)'
    )
    assert mask("postgresql://h/db?password=x&user=u") == "postgresql://h/db?password=***&user=u"
    assert url_passwords("mysql://h/db?password=pw") == ("pw",)
