"""The scratch-database worker, run as a real subprocess on real Alembic projects.

Each project is made by ``alembic.command.init`` and ``alembic.command.revision``
in ``tmp_path``; the bodies of upgrade()/downgrade() are then edited. The plan
goes to ``python -m mergeguard.scratchdb.worker`` on stdin, the result document
comes back on stdout.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
from alembic import command
from alembic.config import Config
from conftest import server_url

from mergeguard.scratchdb.protocol import ProtocolError
from mergeguard.scratchdb.worker.plan import parse_plan

WORKER = [sys.executable, "-m", "mergeguard.scratchdb.worker"]
USERS = (
    "op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True),\n"
    "    sa.Column('name', sa.String(50), nullable=False, server_default='anon'),\n"
    "    sa.Column('login', sa.String(20)),\n"
    "    sa.UniqueConstraint('login', name='uq_users_login'))\n"
    "op.create_index('ix_users_name', 'users', ['name'])",
    "op.drop_index('ix_users_name', table_name='users')\nop.drop_table('users')",
)
POSTS = (
    "op.create_table('posts', sa.Column('id', sa.Integer(), primary_key=True),\n"
    "    sa.Column('user_id', sa.Integer(), sa.ForeignKey('users.id', name='fk_posts_user')))",
    "op.drop_table('posts')",
)
ADD_EMAIL = (
    "op.add_column('users', sa.Column('email', sa.String(50)))",
    "op.drop_column('users', 'email')",
)
UP_DOWN = [
    {"op": "upgrade", "target": "heads"},
    {"op": "schema", "label": "up"},
    {"op": "downgrade", "target": "base"},
    {"op": "schema", "label": "down"},
]
EMPTY = {"tables": {}, "enums": [], "version": []}


class Project:
    """A real Alembic project (``alembic init``) and its scratch database file."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ini = root / "alembic.ini"
        self.script = root / "migrations"
        self.versions = self.script / "versions"
        self.database = root / "scratch.sqlite"
        command.init(self.config(), str(self.script))

    def config(self) -> Config:
        return Config(str(self.ini), stdout=io.StringIO())

    def revision(
        self,
        rev: str,
        body: tuple[str, str] = ("pass", "pass"),
        head: str = "head",
    ) -> Path:
        """A revision made by Alembic, with ``body`` as its upgrade() and downgrade()."""
        script = command.revision(
            self.config(), f"revision {rev}", rev_id=rev, head=head, splice=head != "head"
        )
        assert script is not None and not isinstance(script, list)
        path = Path(script.path)
        text = path.read_text()
        for function, code in zip(("Upgrade", "Downgrade"), body, strict=True):
            empty = f'    """{function} schema."""\n    pass'
            assert text.count(empty) == 1, f"{path.name}: no single empty {function.lower()}()"
            indented = "\n".join("    " + line for line in code.splitlines())
            text = text.replace(empty, indented, 1)
        path.write_text(text)
        return path

    def edit_env(self, old: str, new: str) -> None:
        env = self.script / "env.py"
        text = env.read_text()
        assert old in text
        env.write_text(text.replace(old, new, 1))

    def plan(self, *paths: tuple[str, list[dict[str, Any]]], **options: Any) -> dict[str, Any]:
        plan: dict[str, Any] = {
            "config_file": str(self.ini),
            "section": "alembic",
            "script_location": str(self.script),
            "version_locations": [str(self.versions)],
            "url": f"sqlite:///{self.database}",
            "env": "auto",
            "timeout": 30,
            "reset": {"kind": "sqlite-file", "path": str(self.database)},
            "paths": [{"name": name, "steps": steps} for name, steps in paths],
        }
        plan.update(options)
        return plan

    def run(self, plan: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """The worker's result document and stderr; stdout must be exactly that document."""
        done = run_worker(json.dumps(plan), cwd=self.root)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 1, done.stdout
        document: dict[str, Any] = json.loads(lines[0])
        assert len(document["paths"]) == len(plan["paths"])
        return document, done.stderr


def run_worker(stdin: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        WORKER, input=stdin, cwd=cwd, capture_output=True, text=True, check=False, timeout=120
    )


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path / "project")


def test_linear_history_up_and_down_with_schema_snapshots(project: Project) -> None:
    project.revision("a1", USERS)
    project.revision("b2", POSTS)
    document, stderr = project.run(project.plan(("b2 alone", UP_DOWN)))

    assert document["env_used"] == "project" and document["env_error"] is None
    [path] = document["paths"]
    assert path["ok"] is True, path
    assert path["failed_step"] is None and path["error"] is None and path["revision"] is None
    assert path["ran"] == ["a1", "b2", "b2", "a1"]
    assert [step["ran"] for step in path["steps"]] == [["a1", "b2"], [], ["b2", "a1"], []]
    up = path["schemas"]["up"]
    assert sorted(up["tables"]) == ["posts", "users"]  # alembic_version is left out
    assert up["version"] == ["b2"]
    users, posts = up["tables"]["users"], up["tables"]["posts"]
    assert users["columns"]["name"] == {
        "type": "VARCHAR(50)",
        "nullable": False,
        "default": "'anon'",
    }
    assert users["columns"]["id"]["type"] == "INTEGER"
    assert users["primary_key"] == ["id"]
    assert users["indexes"] == [{"name": "ix_users_name", "columns": ["name"], "unique": False}]
    assert users["unique_constraints"] == [{"name": "uq_users_login", "columns": ["login"]}]
    assert posts["foreign_keys"] == [
        {
            "name": "fk_posts_user",
            "columns": ["user_id"],
            "referred_table": "users",
            "referred_columns": ["id"],
        }
    ]
    assert path["schemas"]["down"] == EMPTY
    assert "Running upgrade a1 -> b2" in stderr  # Alembic's own logging, on stderr


def test_two_heads_upgraded_separately_and_together(project: Project) -> None:
    project.revision("a1", USERS)
    project.revision("b2", POSTS)
    project.revision("c3", ADD_EMAIL, head="a1")
    schema = {"op": "schema", "label": "merged"}
    document, _ = project.run(
        project.plan(
            ("b2 alone", [{"op": "upgrade", "target": "b2"}, {"op": "schema", "label": "up"}]),
            ("c3 alone", [{"op": "upgrade", "target": "c3"}, {"op": "schema", "label": "up"}]),
            ("c3 then b2", [{"op": "upgrade", "target": ["c3", "b2"]}, schema]),
        )
    )
    b2, c3, both = document["paths"]
    assert b2["ok"] and b2["ran"] == ["a1", "b2"]
    assert sorted(b2["schemas"]["up"]["tables"]) == ["posts", "users"]
    assert "email" not in b2["schemas"]["up"]["tables"]["users"]["columns"]
    assert c3["ok"] and c3["ran"] == ["a1", "c3"]  # reset in between: no posts table
    assert sorted(c3["schemas"]["up"]["tables"]) == ["users"]
    assert both["ok"] and both["ran"] == ["a1", "c3", "b2"]
    assert both["steps"][0]["target"] == ["c3", "b2"]
    merged = both["schemas"]["merged"]
    assert merged["version"] == ["b2", "c3"]
    assert "email" in merged["tables"]["users"]["columns"]


def test_a_failing_migration_names_the_revision_and_the_database_error(
    project: Project,
) -> None:
    project.revision("a1", USERS)
    project.revision("b2", ADD_EMAIL)
    c3 = project.revision("c3", ADD_EMAIL)
    document, _ = project.run(
        project.plan(
            ("whole history", UP_DOWN),
            ("a1 alone", [{"op": "upgrade", "target": "a1"}, {"op": "schema", "label": "up"}]),
        )
    )
    failed, later = document["paths"]
    assert failed["ok"] is False
    assert failed["failed_step"] == {"op": "upgrade", "target": "heads", "index": 0}
    assert "duplicate column name: email" in failed["error"]
    assert failed["error_type"] == "OperationalError"
    assert failed["revision"] == "c3"
    assert failed["ran"] == ["a1", "b2"]
    assert failed["location"]["path"] == str(c3)
    assert "ALTER TABLE users ADD COLUMN email" in failed["sql"]
    assert failed["schemas"] == {}  # the path stopped at its failing step
    assert later["ok"] is True and later["ran"] == ["a1"]  # later paths still run
    assert sorted(later["schemas"]["up"]["tables"]) == ["users"]


def test_a_failing_downgrade(project: Project) -> None:
    project.revision("a1", USERS)
    project.revision("b2", (POSTS[0], "op.drop_table('no_such_table')"))
    document, _ = project.run(project.plan(("b2 alone", UP_DOWN)))
    [path] = document["paths"]
    assert path["ok"] is False
    assert path["failed_step"]["op"] == "downgrade"
    assert path["revision"] == "b2"
    assert "no such table: no_such_table" in path["error"]
    assert path["ran"] == ["a1", "b2"]
    assert sorted(path["schemas"]) == ["up"]


MISSING_APP = (
    "from alembic import context\n",
    "from alembic import context\nimport myapp_models\n",
)


def test_auto_falls_back_to_the_builtin_env_when_env_py_cannot_start(project: Project) -> None:
    project.revision("a1", USERS)
    project.revision("b2", POSTS)
    project.edit_env(*MISSING_APP)
    before = {p: p.read_bytes() for p in project.script.rglob("*") if p.is_file()}

    document, stderr = project.run(project.plan(("b2 alone", UP_DOWN)))

    assert document["env_used"] == "builtin"
    assert "myapp_models" in document["env_error"]
    assert document["env_error"].startswith("ModuleNotFoundError")
    assert "\n" not in document["env_error"]
    [path] = document["paths"]
    assert path["ok"] is True, path
    assert path["missing_module"] is None  # the fallback did without it
    assert path["ran"] == ["a1", "b2", "b2", "a1"]
    assert sorted(path["schemas"]["up"]["tables"]) == ["posts", "users"]
    assert path["schemas"]["down"] == EMPTY
    after = {p: p.read_bytes() for p in project.script.rglob("*") if p.is_file()}
    assert after == before  # the project's files untouched (no env.py swap, no __pycache__)
    assert "using the built-in environment" in stderr


def test_env_project_reports_the_env_py_error_as_a_failed_step(project: Project) -> None:
    project.revision("a1", USERS)
    project.edit_env(*MISSING_APP)
    document, _ = project.run(
        project.plan(
            ("a1 alone", UP_DOWN), ("again", [{"op": "upgrade", "target": "a1"}]), env="project"
        )
    )
    assert document["env_used"] == "project" and document["env_error"] is None
    env_py = project.script / "env.py"
    line = env_py.read_text().splitlines().index("import myapp_models") + 1
    for path in document["paths"]:
        assert path["ok"] is False
        assert path["failed_step"]["op"] == "upgrade"
        assert path["error_type"] == "ModuleNotFoundError"
        assert "myapp_models" in path["error"]
        assert path["revision"] is None and path["ran"] == []
        # a distinct result, with the line of env.py that imports it (the worker's cwd)
        assert path["missing_module"] == {
            "name": "myapp_models",
            "path": str(env_py),
            "line": line,
        }


def test_a_migration_importing_a_missing_module_is_a_distinct_result(project: Project) -> None:
    """Not an env.py problem (auto does not fall back): the migration itself needs it."""
    project.revision("a1", USERS)
    b2 = project.revision("b2", POSTS)
    text = b2.read_text()
    b2.write_text(
        text.replace(
            "import sqlalchemy as sa\n", "import sqlalchemy as sa\nimport no_such_pkg_xyz.sub\n"
        )
    )
    line = b2.read_text().splitlines().index("import no_such_pkg_xyz.sub") + 1
    document, _ = project.run(
        project.plan(("b2 alone", UP_DOWN), ("look", [{"op": "schema", "label": "empty"}]))
    )
    assert document["env_used"] == "project" and document["env_error"] is None
    failed, fine = document["paths"]
    assert failed["ok"] is False and failed["error_type"] == "ModuleNotFoundError"
    assert failed["missing_module"] == {"name": "no_such_pkg_xyz", "path": str(b2), "line": line}
    assert fine["ok"] is True and fine["missing_module"] is None  # only a failure says so


def test_env_builtin_never_runs_the_projects_env_py(project: Project) -> None:
    project.revision("a1", USERS)
    project.edit_env("from alembic import context\n", "raise SystemExit('env.py ran')\n")
    document, _ = project.run(project.plan(("a1", UP_DOWN), env="builtin"))
    assert document["env_used"] == "builtin" and document["env_error"] is None
    assert document["paths"][0]["ok"] is True


def test_an_env_py_that_runs_nothing_is_not_a_success(project: Project) -> None:
    project.revision("a1", USERS)
    (project.script / "env.py").write_text("print('configured nothing')\n")
    document, _ = project.run(project.plan(("a1", UP_DOWN)))
    assert document["env_used"] == "builtin"
    assert document["env_error"].startswith("NothingRan: env.py returned without configuring")
    assert document["paths"][0]["ok"] is True
    document, _ = project.run(project.plan(("a1", UP_DOWN), env="project"))
    assert document["paths"][0]["error_type"] == "NothingRan"


def test_an_unknown_target_is_a_failed_step_not_an_env_problem(project: Project) -> None:
    project.revision("a1", USERS)
    document, _ = project.run(project.plan(("nowhere", [{"op": "upgrade", "target": "zz99"}])))
    [path] = document["paths"]
    assert document["env_used"] == "project" and document["env_error"] is None
    assert path["ok"] is False and path["error_type"] == "CommandError"
    assert "zz99" in path["error"]


def test_env_py_connecting_elsewhere_is_refused(project: Project) -> None:
    project.revision("a1", USERS)
    other = project.root / "production.sqlite"
    project.edit_env(
        "    connectable = engine_from_config(",
        f"    config.set_main_option('sqlalchemy.url', 'sqlite:///{other}')\n"
        "    connectable = engine_from_config(",
    )
    document, _ = project.run(project.plan(("a1", UP_DOWN)))
    assert document["env_used"] == "builtin"
    assert "refused to connect" in document["env_error"]
    assert document["paths"][0]["ok"] is True
    assert not other.exists()  # refused before the driver connects: not even created


@pytest.mark.parametrize(
    ("module", "connect"),
    [
        ("psycopg", "psycopg.connect('host=127.0.0.1 dbname=postgres user=postgres')"),
        ("pymysql", "pymysql.connect(host='127.0.0.1', user='root', database='mysql')"),
    ],
)
def test_a_driver_imported_by_a_migration_is_wrapped_when_it_is_imported(
    project: Project, module: str, connect: str
) -> None:
    """The worker no longer imports every server driver up front (a third of a
    second on each SQLite run): the guard is put on a driver when it is
    imported, so a migration that imports one itself still cannot connect."""
    marker = project.root / "imported-before.json"
    project.revision(
        "a1",
        (
            f"import importlib.util, json, pathlib, sys\n"
            f"pathlib.Path({str(marker)!r}).write_text(json.dumps({module!r} in sys.modules))\n"
            f"assert importlib.util.find_spec({module!r}) is not None  # a probe first\n"
            f"import {module}\n{connect}",
            "pass",
        ),
    )
    document, _ = project.run(project.plan(("a1", [{"op": "upgrade", "target": "heads"}])))
    (path,) = document["paths"]
    assert json.loads(marker.read_text()) is False  # not imported before the migration ran
    assert path["ok"] is False and path["revision"] == "a1"
    assert "refused to connect" in path["error"], path["error"]


def test_each_path_starts_from_an_empty_database(project: Project) -> None:
    project.revision("a1", USERS)
    project.revision("b2", POSTS)
    first = ("up only", [{"op": "upgrade", "target": "b2"}])
    second = ("look", [{"op": "schema", "label": "start"}, {"op": "upgrade", "target": "a1"}])
    document, _ = project.run(project.plan(first, second))
    assert document["paths"][1]["schemas"]["start"] == EMPTY
    assert document["paths"][1]["ran"] == ["a1"]

    marker = project.root / "reset.log"
    script = (
        "import os, sys; print('resetting'); "
        f"open({str(marker)!r}, 'a').write('x'); "
        f"os.path.exists({str(project.database)!r}) and os.remove({str(project.database)!r})"
    )
    reset = {"kind": "command", "argv": [sys.executable, "-c", script]}
    document, stderr = project.run(project.plan(first, second, reset=reset))
    assert document["paths"][1]["schemas"]["start"] == EMPTY
    assert marker.read_text() == "xx" and "resetting" in stderr

    failing = {"kind": "command", "argv": [sys.executable, "-c", "raise SystemExit(3)"]}
    document, _ = project.run(project.plan(first, reset=failing))
    [path] = document["paths"]
    assert path["ok"] is False and path["failed_step"]["op"] == "reset"
    assert "status 3" in path["error"]


def test_stdout_is_exactly_one_document_when_migrations_print(project: Project) -> None:
    noisy = (
        "print('print from a1')\n"
        "import os, sys\n"
        "sys.stdout.write('write from a1\\n')\n"
        "os.write(1, b'fd 1 from a1\\n')\n"
        "os.system('echo shell from a1')\n"
        "import warnings; warnings.warn('careful')\n" + USERS[0]
    )
    project.revision("a1", (noisy, USERS[1]))
    document, stderr = project.run(project.plan(("a1", UP_DOWN)))  # asserts one stdout line
    assert document["paths"][0]["ok"] is True
    for text in ("print from a1", "write from a1", "fd 1 from a1", "shell from a1", "careful"):
        assert text in stderr


# Time limits: a step that would block for an hour under a limit of LIMIT seconds. The
# limit is generous so that the healthy steps beside it pass on a loaded machine; the
# tests assert on the reason reported, and on wall time only with a bound far below
# the hour (which proves the step was interrupted) and far above LIMIT (load).
LIMIT = 5
SERVER_LIMIT = 20  # a reset there is CREATE DATABASE, which waits its turn on a busy server
FOREVER = 3600
WALL_BOUND = 90  # below run_worker's 120 s, so a hang fails here with a clear message


def test_a_step_running_past_the_timeout_fails(project: Project) -> None:
    project.revision("a1", USERS)
    project.revision("b2", (f"import time\ntime.sleep({FOREVER})", "pass"))
    started = time.monotonic()
    document, _ = project.run(
        project.plan(
            ("slow", UP_DOWN), ("a1 alone", [{"op": "upgrade", "target": "a1"}]), timeout=LIMIT
        )
    )
    assert time.monotonic() - started < WALL_BOUND
    slow, later = document["paths"]
    assert slow["ok"] is False and slow["error_type"] == "Timeout"
    assert slow["error"] == f"timed out after {LIMIT} s"
    assert slow["steps"][0]["ok"] is False and slow["steps"][0]["seconds"] >= LIMIT
    assert slow["revision"] == "b2" and slow["ran"] == ["a1"]
    assert later["ok"] is True and later["ran"] == ["a1"]


def test_a_step_that_cannot_be_interrupted_still_gives_a_whole_document(
    project: Project,
) -> None:
    project.revision("a1", USERS)
    stubborn = "import signal, time\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\n"
    project.revision("b2", (stubborn + f"time.sleep({FOREVER})", "pass"))
    started = time.monotonic()
    document, stderr = project.run(
        project.plan(
            ("stuck", UP_DOWN), ("a1 alone", [{"op": "upgrade", "target": "a1"}]), timeout=LIMIT
        )
    )
    assert time.monotonic() - started < WALL_BOUND
    stuck, later = document["paths"]
    assert stuck["ok"] is False and stuck["error"] == f"timed out after {LIMIT} s"
    assert stuck["steps"][0]["seconds"] is None  # recorded by the watchdog, not the step
    assert stuck["revision"] == "b2"
    assert later["ok"] is True and later["ran"] == ["a1"]  # run by a fresh worker
    assert "fresh worker" in stderr


RESET = """
import sqlalchemy as sa
engine = sa.create_engine({admin!r}, isolation_level="AUTOCOMMIT")
with engine.connect() as connection:
    connection.execute(sa.text({drop!r}))
    connection.execute(sa.text("CREATE DATABASE {name}"))
engine.dispose()
"""


@pytest.fixture(params=["mariadb", "postgresql"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, list[str]]]:
    """A database of its own on a reachable server: (its URL, a reset command)."""
    admin = server_url(request.param)
    engine = sqlalchemy.create_engine(admin, isolation_level="AUTOCOMMIT")
    name = f"mgworker_{uuid.uuid4().hex[:12]}"
    force = " WITH (FORCE)" if request.param == "postgresql" else ""
    drop = f"DROP DATABASE IF EXISTS {name}{force}"
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    url = sqlalchemy.make_url(admin).set(database=name).render_as_string(hide_password=False)
    try:
        yield url, [sys.executable, "-c", RESET.format(admin=admin, drop=drop, name=name)]
    finally:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(drop))
        engine.dispose()


def test_server_databases(project: Project, server: tuple[str, list[str]]) -> None:
    url, reset = server
    mood = "sa.Enum('happy', 'Sad', name='mood')"
    project.revision(
        "a1",
        (
            f"op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True),\n"
            f"    sa.Column('mood', {mood}))",
            f"op.drop_table('users')\n{mood}.drop(op.get_bind(), checkfirst=True)",
        ),
    )
    project.revision("b2", ADD_EMAIL)
    project.revision("c3", ADD_EMAIL)
    sleep = (
        "postgres = op.get_bind().dialect.name == 'postgresql'\n"
        "op.execute('select pg_sleep(300)' if postgres else 'select sleep(300)')"
    )
    project.revision("d4", (sleep, "pass"), head="a1")
    a1_up_down = [{"op": "upgrade", "target": "a1"}, *UP_DOWN[1:]]
    plan = project.plan(
        ("a1", a1_up_down),
        ("duplicate", [{"op": "upgrade", "target": "c3"}]),
        ("slow", [{"op": "upgrade", "target": "d4"}]),
        ("after", [{"op": "upgrade", "target": "a1"}]),
        url=url,
        reset={"kind": "command", "argv": reset},
        timeout=SERVER_LIMIT,
    )
    started = time.monotonic()
    document, _ = project.run(plan)
    first, duplicate, slow, after = document["paths"]
    assert first["ok"], first
    up = first["schemas"]["up"]
    assert up["version"] == ["a1"]
    if url.startswith("postgresql"):
        assert up["enums"] == [{"name": "mood", "values": ["happy", "Sad"]}]
        assert up["tables"]["users"]["columns"]["mood"]["type"] == "MOOD"
    else:
        assert up["tables"]["users"]["columns"]["mood"]["type"] == "ENUM('happy','Sad')"
    assert first["schemas"]["down"] == EMPTY
    assert duplicate["ok"] is False and duplicate["revision"] == "c3"
    assert "email" in duplicate["error"] and "Traceback" not in duplicate["error"]
    assert time.monotonic() - started < WALL_BOUND  # the sleep was cancelled, not waited out
    assert slow["ok"] is False and slow["error"] == f"timed out after {SERVER_LIMIT} s"
    assert slow["revision"] == "d4"
    assert after["ok"] is True and after["ran"] == ["a1"]


def test_a_malformed_plan_exits_2_with_one_line(tmp_path: Path) -> None:
    for stdin in ("not json", json.dumps({"script_location": "/x", "paths": []})):
        done = run_worker(stdin, cwd=tmp_path)
        assert done.returncode == 2
        assert len(done.stderr.strip().splitlines()) == 1
        assert "Traceback" not in done.stderr
        assert set(json.loads(done.stdout)) == {"error"}


BASE = {"script_location": "/x", "url": "sqlite://", "paths": []}


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ([], "JSON object"),
        ({"script_location": "/x", "paths": []}, "'url' is required"),
        ({**BASE, "url": "not a url"}, "not a database URL"),
        ({**BASE, "paths": [{"steps": [{}]}]}, "'op' is required"),
        ({**BASE, "paths": [{"steps": [{"op": "sideways", "target": "a1"}]}]}, "'op' must be"),
        ({**BASE, "paths": [{"steps": [{"op": "upgrade", "target": 7}]}]}, "'target' must be"),
        ({**BASE, "paths": [{"steps": [{"op": "upgrade", "target": []}]}]}, "'target' must be"),
        ({**BASE, "paths": [{"name": "no steps"}]}, "'steps' is required"),
        ({**BASE, "env": "mine"}, "'env' must be"),
        ({**BASE, "timeout": "soon"}, "'timeout' must be"),
        ({**BASE, "timeout": 0}, "positive"),
        ({**BASE, "config_file": "/no/such/alembic.ini"}, "is not a file"),
        ({**BASE, "reset": {"kind": "wipe"}}, "'kind' must be"),
        ({**BASE, "reset": {"kind": "command", "argv": []}}, "must name a command"),
        (
            {
                **BASE,
                "url": "sqlite:////tmp/a.db",
                "reset": {"kind": "sqlite-file", "path": "/b.db"},
            },
            "not the SQLite file",
        ),
    ],
)
def test_malformed_plans_are_refused_with_a_reason(plan: Any, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)):
        parse_plan(json.dumps(plan))
