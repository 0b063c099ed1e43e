"""Sibling-branch schema conflicts (MG201-MG205) on real git repositories."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import RepoBuilder

from mergeguard.app.cli import main
from mergeguard.model import Operation, Span
from mergeguard.parse.operations import read_operations

USERS = (
    "op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True),\n"
    "    sa.Column('name', sa.String(50)))"
)


def fork(repo: RepoBuilder, style: str, theirs: str, ours: str, *, extra_ours: str = "") -> None:
    """a1 creates users; main adds b2 with ``theirs``; feature adds c7 with ``ours``."""
    repo.init_alembic()
    repo.migration("a1", None, style=style, upgrade=USERS)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("c7", "a1", style=style, upgrade=ours)
    if extra_ours:
        repo.migration("d8", "a1", style=style, upgrade=extra_ours)
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("b2", "a1", style=style, upgrade=theirs)
    repo.commit("main")


def findings(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str) -> list[dict]:  # type: ignore[type-arg]
    main(
        [
            "check",
            *(args or ("main..feature",)),
            "-C",
            str(repo.root),
            "--format",
            "json",
            "--select",
            "MG2",
        ]
    )
    return json.loads(capsys.readouterr().out)["findings"]  # type: ignore[no-any-return]


def codes(items: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return sorted(i["code"] for i in items)


ADD_EMAIL = "op.add_column('users', sa.Column('email', sa.String(255)))"


@pytest.mark.parametrize(
    ("theirs", "ours", "expected", "fragment"),
    [
        (
            ADD_EMAIL,
            "with op.batch_alter_table('users', schema=None) as batch_op:\n"
            "    batch_op.add_column(sa.Column('email', sa.String(100)))",
            ["MG201"],
            "users.email",
        ),
        (
            "op.create_index(op.f('ix_users_name'), 'users', ['name'], unique=False)",
            "op.create_index(op.f('ix_users_name'), 'users', ['name', 'id'])",
            ["MG203"],
            "ix_users_name",
        ),
        (
            'op.execute("ALTER TABLE users ADD COLUMN email VARCHAR(255)")',
            ADD_EMAIL,
            ["MG201"],
            "users.email",
        ),
        (
            "op.create_table('audit', sa.Column('id', sa.Integer()), schema='ops')",
            "op.create_table('AUDIT', sa.Column('pk', sa.Integer()), schema='ops')",
            ["MG202"],
            "ops.audit",
        ),
        (
            "op.add_column('users', sa.Column('mood', sa.Enum('a', 'b', name='mood')))",
            "op.create_table('moods', sa.Column('m', sa.Enum('x', name='mood')))",
            ["MG203"],
            "mood",
        ),
        (
            "op.drop_table('users')",
            "op.create_index('ix_users_name', 'users', ['name'])",
            ["MG204"],
            "drops table users",
        ),
        (
            "op.drop_column('users', 'name')",
            "with op.batch_alter_table('users') as b:\n    b.alter_column('name', nullable=False)",
            ["MG204"],
            "drops column users.name",
        ),
        (
            "op.alter_column('users', 'name', type_=sa.String(100))",
            "op.alter_column('users', 'name', type_=sa.Text())",
            ["MG205"],
            "users.name",
        ),
        (
            "op.create_foreign_key('fk_org', 'users', 'orgs', ['org_id'], ['id'])",
            "op.create_unique_constraint('fk_org', 'users', ['name'])",
            ["MG203"],
            "fk_org",
        ),
    ],
)
def test_conflicts(
    repo: RepoBuilder,
    style: str,
    capsys: pytest.CaptureFixture[str],
    theirs: str,
    ours: str,
    expected: list[str],
    fragment: str,
) -> None:
    fork(repo, style, theirs, ours)
    found = findings(capsys, repo)
    assert codes(found) == expected
    [item] = found
    assert fragment in item["message"] and set(item["revisions"]) == {"b2", "c7"}
    assert "c7_migration.py" in item["message"] and "b2_migration.py" in item["message"]
    assert item["hint"]
    # the finding points at the feature's operation, but MG204 at the drop on main;
    # its line is the operation itself (inside a batch block, the batch_op call)
    side, body, branch = (
        ("b2", theirs, "main") if expected == ["MG204"] else ("c7", ours, "feature")
    )
    assert item["path"] == f"migrations/versions/{side}_migration.py"
    line = repo.git("show", f"{branch}:{item['path']}").splitlines()[item["line"] - 1]
    assert line.strip() == body.splitlines()[-1].strip()


@pytest.mark.parametrize(
    ("theirs", "ours"),
    [
        (ADD_EMAIL, "op.add_column('users', sa.Column('phone', sa.String(20)))"),
        (
            "op.create_table('audit', sa.Column('id', sa.Integer()), schema='a')",
            "op.create_table('audit', sa.Column('id', sa.Integer()), schema='b')",
        ),
        ("op.create_table('orgs', sa.Column('email', sa.String()))", ADD_EMAIL),
        (
            "op.create_index('ix_users_name', 'users', ['name'])",
            "op.create_index('ix_users_name2', 'users', ['name'])",
        ),
        (
            "op.alter_column('users', 'name', nullable=False)",
            "op.alter_column('users', 'id', nullable=False)",
        ),
    ],
)
def test_independent_work_is_not_a_finding(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str], theirs: str, ours: str
) -> None:
    fork(repo, style, theirs, ours)
    assert findings(capsys, repo) == []


def test_three_way_fork_compares_every_pair(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, "plain", ADD_EMAIL, ADD_EMAIL, extra_ours=ADD_EMAIL)
    found = findings(capsys, repo)
    pairs = {frozenset(i["revisions"]) for i in found}
    assert codes(found) == ["MG201"] * 3
    assert pairs == {frozenset({"b2", "c7"}), frozenset({"b2", "d8"}), frozenset({"c7", "d8"})}


def test_a_merge_revision_does_not_hide_the_conflict(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, style, ADD_EMAIL, ADD_EMAIL)
    repo.git("merge", "-q", "--no-edit", "feature")
    repo.migration("m1", ("b2", "c7"), style=style)
    repo.commit("merge revision")
    for args in (("HEAD~1..HEAD",), ("main@{1}..main",), ("HEAD~2..HEAD",)):
        found = findings(capsys, repo, *args)
        assert codes(found) == ["MG201"], args
        assert "users.email" in found[0]["message"]


def test_during_a_merge_in_progress(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    fork(repo, "plain", ADD_EMAIL, ADD_EMAIL)
    repo.git("merge", "-q", "--no-commit", "--no-ff", "feature")
    main(["check", "-C", str(repo.root), "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert codes(document["findings"]) == ["MG102", "MG201"]


def test_historic_merge_points_are_not_reported_again(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, "plain", ADD_EMAIL, ADD_EMAIL)
    repo.git("merge", "-q", "--no-edit", "feature")
    repo.migration("m1", ("b2", "c7"))
    repo.commit("old merge")
    repo.branch("later")
    repo.migration("e9", "m1", upgrade="op.add_column('users', sa.Column('x', sa.Integer()))")
    repo.commit("new work")
    assert findings(capsys, repo, "main..later") == []
    assert findings(capsys, repo, "--base", "main") == []


def test_the_same_migration_under_two_ids(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    both = ADD_EMAIL + "\nop.create_index('ix_users_email', 'users', ['email'])"
    fork(repo, "annotated", both, both)
    [item] = findings(capsys, repo)
    assert item["code"] == "MG201"
    assert "same migration" in item["message"] and "two ids" in item["message"]


def test_opaque_operations_lower_confidence(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    fork(repo, "plain", ADD_EMAIL, ADD_EMAIL + "\nfor t in TABLES:\n    op.drop_table(t)")
    [item] = findings(capsys, repo)
    assert "could not be read statically" in item["message"] and "loop" in item["message"]


def test_summary_per_side(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    fork(
        repo,
        "plain",
        ADD_EMAIL,
        ADD_EMAIL + "\nop.create_index('ix_users_email', 'users', ['email'])",
    )
    main(["check", "main..feature", "-C", str(repo.root)])
    err = capsys.readouterr().err
    assert "feature: +users.email, +ix_users_email" in err and "main: +users.email" in err
    main(["check", "main..feature", "-C", str(repo.root), "--format", "markdown"])
    out = capsys.readouterr().out
    assert "**Schema changes**" in out and "- feature: +users.email, +ix_users_email" in out


def test_reading_a_migration_runs_none_of_it(tmp_path: object) -> None:
    ops = read_operations(
        b"import os\nos.system('touch /tmp/never')\n"
        b"def upgrade():\n    op.add_column('t', sa.Column('c', sa.Integer()))\n"
    )
    assert [(o.kind, o.table, o.name) for o in ops] == [("add_column", "t", "c")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "op.add_column('t', sa.Column('c', sa.Integer()), schema='s')",
            [("add_column", "t", "c", "s", False)],
        ),
        (
            "with op.batch_alter_table('t', schema='s') as b:\n    b.drop_column('c')",
            [("drop_column", "t", "c", "s", False)],
        ),
        (
            "op.create_index(op.f('ix_t_c'), 't', ['c'], unique=True)",
            [("create_index", "t", "ix_t_c", None, False)],
        ),
        (
            "op.drop_index(op.f('ix_t_c'), table_name='t')",
            [("drop_index", "t", "ix_t_c", None, False)],
        ),
        ("op.rename_table('a', 'b')", [("rename_table", "a", "b", None, False)]),
        (
            "op.drop_constraint('uq', 't', type_='unique')",
            [("drop_constraint", "t", "uq", None, False)],
        ),
        (
            "op.create_check_constraint('ck', 't', 'c > 0')",
            [("create_check_constraint", "t", "ck", None, False)],
        ),
        (
            "op.create_primary_key('pk', 't', ['id'])",
            [("create_primary_key", "t", "pk", None, False)],
        ),
        (
            "op.create_table_comment('t', 'hello')",
            [("create_table_comment", "t", "t", None, False)],
        ),
        ("op.add_column(name, sa.Column('c', sa.Integer()))", [("opaque", None, None, None, True)]),
        ("if x:\n    op.drop_table('t')", [("drop_table", "t", "t", None, True)]),
        ("helper()", [("opaque", None, None, None, True)]),
        ("print('x')\nconn = op.get_bind()\nop.bulk_insert(t, [])", []),
        ("op.execute('UPDATE t SET c = 1')", []),
    ],
)
def test_operation_extraction(body: str, expected: list[tuple[object, ...]]) -> None:
    source = "def upgrade():\n" + "".join(f"    {line}\n" for line in body.splitlines())
    ops = read_operations(source.encode())
    assert [(o.kind, o.table, o.name, o.schema, o.opaque) for o in ops] == expected


def test_downgrade_and_multi_database_functions() -> None:
    source = (
        b"def upgrade(engine_name):\n    globals()['upgrade_%s' % engine_name]()\n"
        b"def upgrade_engine1():\n    op.drop_table('a')\n"
        b"def downgrade():\n    op.create_table('a', sa.Column('id', sa.Integer()))\n"
    )
    ops = read_operations(source)
    assert [(o.function, o.kind) for o in ops] == [
        ("upgrade", "drop_table"),
        ("downgrade", "create_table"),
    ]


def _ops(body: str) -> tuple[Operation, ...]:
    return read_operations(("def upgrade():\n" + body).encode())


def test_columns_count_characters_and_types_keep_their_parentheses() -> None:
    """The values the libcst reader of earlier releases gave, which the operations
    cache holds: 1-based character columns (not UTF-8 bytes, a tab one
    character), a type's source text with its own parentheses and comments."""
    [drop] = _ops("    é = 1; op.drop_table('é')\n")
    assert drop.span == Span(2, 12)
    [tabbed] = _ops("\top.drop_table('t')\n")
    assert tabbed.span == Span(2, 2)
    [altered] = _ops(
        "    op.alter_column('t', 'c', type_=( sa.String( 5 ) # wide\n ),\n"
        "        server_default=sa.text('now()'))\n"
    )
    assert altered.get("type") == "( sa.String( 5 ) # wide )"
    assert altered.get("server_default") == "sa.text('now()')"
    added, enum = _ops(
        "    op.add_column('t', sa.Column('c', (sa.Enum('a', name='e')), nullable=True))\n"
    )
    assert added.get("type") == "(sa.Enum('a', name='e'))" and added.get("nullable") == "True"
    assert (enum.kind, enum.name) == ("create_enum", "e")


@pytest.mark.parametrize(
    ("argument", "reason"),
    [
        ("1", "Integer"),
        ("-1", "UnaryOperation"),
        ("name", "Name"),
        ("a + b", "BinaryOperation"),
        ("f'x'", "FormattedString"),
        ("'a' f'{b}'", "a bytes or f-string value"),
        ("b'x'", "a bytes or f-string value"),
        ("*names", "*args"),
    ],
)
def test_a_non_literal_argument_is_named_as_before(argument: str, reason: str) -> None:
    [operation] = _ops(f"    op.drop_table({argument})\n")
    assert operation.opaque
    assert operation.reason == f"op.drop_table() with an argument that is not a literal ({reason})"


def test_constants_called_are_named_and_bodies_on_the_colon_line_are_not_read() -> None:
    """``None()`` is "a call to None()"; a body on the line of its ``:`` is not
    read (the earlier reader's tree skipped it, and the cache holds that)."""
    ops = _ops("    None()\n    if x: op.drop_table('a')\n    else:\n        op.drop_table('b')\n")
    assert [(o.kind, o.name, o.reason) for o in ops] == [
        ("opaque", None, "a call to None()"),
        ("drop_table", "b", "inside a conditional"),
    ]
    assert read_operations(b"def upgrade(): op.drop_table('a')\n") == ()


def test_try_else_comes_before_the_handlers() -> None:
    ops = _ops(
        "    try:\n        op.drop_table('a')\n    except E:\n        op.drop_table('b')\n"
        "    else:\n        op.drop_table('c')\n    finally:\n        op.drop_table('d')\n"
    )
    assert [o.name for o in ops] == ["a", "c", "b", "d"]


def test_reading_operations_loads_neither_libcst_nor_sqlglot() -> None:
    """libcst is for editing files; sqlglot only for a literal SQL string."""
    program = (
        "import sys\n"
        "from mergeguard.parse.operations import read_operations\n"
        "from mergeguard.parse.digest import upgrade_digest\n"
        "data = b\"def upgrade():\\n    op.add_column('t', sa.Column('c', sa.Integer()))\\n\"\n"
        "assert read_operations(data) and upgrade_digest(data)\n"
        "print(sorted(m for m in ('libcst', 'sqlglot') if m in sys.modules))\n"
        "read_operations(b\"def upgrade():\\n    op.execute('DROP TABLE t')\\n\")\n"
        "print('sqlglot' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    assert result.stdout.split("\n")[:2] == ["[]", "True"]


def test_a_line_of_only_a_backslash_is_counted_as_libcst_counted_it() -> None:
    """libcst did not count a line holding only ``\\`` before a statement, and
    refused one that opens a block; the cached operations say so, and a fresh
    reading must agree with them."""
    [after] = read_operations(b"x = 1\n\\\nimport y\ndef upgrade():\n    op.drop_table('a')\n")
    assert after.span == Span(4, 5)
    [inside] = read_operations(b"x = (1,\n\\\n2)\ndef upgrade():\n    op.drop_table('a')\n")
    assert inside.span == Span(5, 5)
    assert read_operations(b"def upgrade():\n    \\\n    op.drop_table('a')\n") == ()
