"""parse/bodies.py: upgrade/downgrade code as normalised syntax (MG107's reader).

Table-driven on file texts: which edits change a function's digest, where the
first change is and how it is described, and that hostile bytes end in None
(never an exception, never a parse of a file over the limits)."""

from __future__ import annotations

import pytest

from mergeguard.parse.bodies import body_fingerprints, first_change, read_bodies
from mergeguard.parse.bounds import MAX_FILE_BYTES, MAX_NESTING
from mergeguard.parse.module_code import ModuleCode, module_change, read_code

BASE = """\
from alembic import op
import sqlalchemy as sa


def upgrade():
    \"\"\"Upgrade schema.\"\"\"
    op.add_column('t', sa.Column('a', sa.Integer()))
    with op.batch_alter_table('t') as batch:
        batch.drop_column('b')


def downgrade():
    pass


def helper():
    return 1
"""


def digests(text: str) -> dict[str, str]:
    return {name: digest for name, (digest, _) in body_fingerprints(text.encode()).items()}


def test_only_upgrade_and_downgrade_functions_are_read() -> None:
    bodies = read_bodies(BASE.encode())
    assert bodies is not None and sorted(bodies) == ["downgrade", "upgrade"]
    assert bodies["upgrade"].line == 5 and bodies["downgrade"].line == 12


@pytest.mark.parametrize(
    "edited",
    [
        BASE.replace("'t'", '"t"'),  # quotes
        BASE.replace('    """Upgrade schema."""\n', ""),  # docstring
        BASE.replace("    op.add_column", "    # why\n\n    op.add_column"),  # comment, blank
        BASE.replace(
            "sa.Column('a', sa.Integer())", "sa.Column(\n        'a', sa.Integer()\n    )"
        ),
        BASE.replace("def upgrade():", "def upgrade() -> None:"),  # the annotated template
        BASE.replace("def downgrade():\n    pass", "def downgrade():\n    '''Nothing.'''"),
        BASE.replace("return 1", "return 2"),  # not an upgrade/downgrade function
        BASE.replace(
            "        batch.drop_column('b')", "        pass\n        batch.drop_column('b')"
        ),
    ],
)
def test_layout_only_edits_keep_the_digests(edited: str) -> None:
    assert edited != BASE and digests(edited) == digests(BASE)


@pytest.mark.parametrize(
    ("edited", "name", "line", "what"),
    [
        (
            BASE.replace("        batch.drop_column('b')", "        batch.drop_column('c')"),
            "upgrade",
            9,
            "changes `batch.drop_column('b')` to `batch.drop_column('c')`",
        ),
        (
            BASE.replace("    pass", "    op.drop_column('t', 'a')"),
            "downgrade",
            13,
            "adds `op.drop_column('t', ...)`",
        ),
        (
            BASE.replace("    op.add_column('t', sa.Column('a', sa.Integer()))\n", ""),
            "upgrade",
            7,
            "removes `op.add_column('t', ...)`",
        ),
        (
            BASE.replace("def upgrade():", "@decorated\ndef upgrade():"),
            "upgrade",
            6,
            "changes the signature of upgrade()",
        ),
        (
            BASE.replace("batch_alter_table('t')", "batch_alter_table('u')"),
            "upgrade",
            8,
            "changes `with op.batch_alter_table('t') as batch: ...` to "
            "`with op.batch_alter_table('u') as batch: ...`",
        ),
    ],
)
def test_the_first_change_is_located_and_described(
    edited: str, name: str, line: int, what: str
) -> None:
    old, new = read_bodies(BASE.encode()), read_bodies(edited.encode())
    assert old is not None and new is not None
    assert old[name].digest != new[name].digest
    change = first_change(old[name], new[name])
    assert (change.line, change.what) == (line, what)


def test_a_long_statement_is_described_short() -> None:
    long = "op.execute(" + repr("UPDATE t SET a = 1 WHERE " + " OR ".join(["b = 2"] * 50)) + ")"
    new = read_bodies(BASE.replace("    pass", f"    {long}").encode())
    old = read_bodies(BASE.encode())
    assert old is not None and new is not None
    what = first_change(old["downgrade"], new["downgrade"]).what
    assert what == "adds `op.execute(...)`"


def test_waiver_comments_anywhere_in_the_function_are_collected() -> None:
    text = BASE.replace(
        "        batch.drop_column('b')",
        "        batch.drop_column('b')  # mergeguard: ignore[MG107, MG2]",
    )
    bodies = read_bodies(text.encode())
    assert bodies is not None
    assert bodies["upgrade"].ignores == ("MG107", "MG2") and bodies["downgrade"].ignores == ()


@pytest.mark.parametrize(
    "data",
    [
        b"def upgrade(:\n",  # syntax error
        b"\x00\x01binary",
        b"# -*- coding: rot13 -*-\ndef upgrade(): pass\n",
        b"def upgrade():\n    x = " + b"(" * (MAX_NESTING * 4) + b")" * (MAX_NESTING * 4) + b"\n",
        b"def upgrade():\n    pass\n" + b"#" * MAX_FILE_BYTES,
        b"def upgrade():\n    x = " + b"-" * 100_000 + b"1\n",
    ],
)
def test_unreadable_files_give_none(data: bytes) -> None:
    assert read_bodies(data) is None and body_fingerprints(data) == {}
    assert read_code(data) is None


def test_a_form_feed_line_does_not_shift_the_waiver() -> None:
    """``ast`` counts lines at \\n, \\r\\n and \\r only; ``str.splitlines``
    also breaks at \\x0c (and \\x1c-\\x1e, \\x85, \\u2028, \\u2029)."""
    waived = BASE.replace(
        "        batch.drop_column('b')",
        "        batch.drop_column('b')  # mergeguard: ignore[MG107]",
    )
    for extra in ("\x0c", "x = 1  # \x1c\x85\u2028"):
        text = waived.replace("def upgrade():", f"{extra}\ndef upgrade():")
        bodies = read_bodies(text.encode())
        assert bodies is not None and bodies["upgrade"].ignores == ("MG107",), repr(extra)
        assert bodies["downgrade"].ignores == ()


MODULE = '''\
"""Add users.name.

Revision ID: b2
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "b2"
down_revision = "a1"
branch_labels = None
depends_on = None

NAME = "users"


def _helper(table):
    """Why it exists."""
    return sa.table(table)


def upgrade():
    op.add_column(NAME, sa.Column("name", sa.String(50)))


def downgrade():
    _helper(NAME)
'''


def module_code(text: str) -> ModuleCode:
    code = read_code(text.encode())
    assert code is not None
    return code.module


@pytest.mark.parametrize(
    "edited",
    [
        MODULE.replace(
            "from alembic import op\nimport sqlalchemy as sa",
            "import sqlalchemy as sa\nfrom alembic import op",
        ),
        MODULE.replace('NAME = "users"', "NAME = 'users'  # the table"),
        MODULE.replace('    """Why it exists."""\n', ""),
        MODULE.replace("def _helper(table):", "def _helper(table: str) -> sa.TableClause:"),
        MODULE.replace("\n\nNAME", "\n\n\n\nNAME"),
        MODULE.replace(
            '"""\nfrom alembic', '"""\nfrom __future__ import annotations\n\nfrom alembic'
        ),
        MODULE.replace(
            'revision = "b2"\ndown_revision = "a1"\nbranch_labels = None\ndepends_on = None',
            'revision: str = "b2"\ndown_revision: Union[str, None] = "a1"\n'
            "branch_labels: Union[str, Sequence[str], None] = None\n"
            "depends_on: Union[str, Sequence[str], None] = None",
        ).replace(
            "import sqlalchemy as sa\n",
            "import sqlalchemy as sa\nfrom typing import Sequence, Union\n",
        ),
        MODULE.replace('down_revision = "a1"', 'down_revision = "a0"'),  # MG103's, not this
        MODULE.replace("Revision ID: b2", "Revision ID: b2 (edited)"),
        MODULE.replace(
            '    op.add_column(NAME, sa.Column("name", sa.String(50)))',
            '    op.drop_column(NAME, "x")',
        ),
        MODULE + "\n\ndef upgrade_notes():\n    pass\n",  # a function: bodies compares it
        MODULE.replace(
            "import sqlalchemy as sa\n", "import sqlalchemy as sa\nimport os\n"
        ),  # unused
        MODULE.replace("from alembic import op\n", "from alembic import op, context\n"),
    ],
)
def test_layout_only_module_edits_keep_the_module_digest(edited: str) -> None:
    assert edited != MODULE and module_code(edited).digest == module_code(MODULE).digest


@pytest.mark.parametrize(
    ("edited", "needle", "what"),
    [
        (
            MODULE.replace('NAME = "users"', 'NAME = "accounts"'),
            "NAME =",
            "changes `NAME = 'users'` to `NAME = 'accounts'`",
        ),
        (
            MODULE.replace("return sa.table(table)", "return sa.table(table, schema='x')"),
            "return sa.table",
            "changes `return sa.table(table)` to `return sa.table(table, schema='x')`",
        ),
        (
            MODULE.replace('NAME = "users"\n', 'NAME = "users"\nSCHEMA = "x"\n'),
            "SCHEMA",
            "adds `SCHEMA = 'x'`",
        ),
        (MODULE.replace('NAME = "users"\n', ""), "def _helper", "removes `NAME = 'users'`"),
        (
            MODULE.replace("import sqlalchemy as sa\n", "import sqlalchemy_utils as sa\n"),
            "sqlalchemy",
            "adds `import sqlalchemy_utils as sa`",
        ),
        (
            MODULE.replace("from alembic import op\n", "from alembic import op as ops\nop = ops\n"),
            "op = ops",
            "adds `op = ops`",
        ),
    ],
)
def test_a_module_level_change_is_located_and_described(
    edited: str, needle: str, what: str
) -> None:
    change = module_change(module_code(MODULE), module_code(edited))
    assert change is not None
    line = next(i for i, text in enumerate(edited.split("\n"), 1) if needle in text)
    assert (change.line, change.what) == (line, what)


def test_module_level_waivers_are_per_statement() -> None:
    text = MODULE.replace(
        "    return sa.table(table)", "    return sa.table(table)  # mergeguard: ignore[MG107]"
    )
    text = text.replace("\x0c", "").replace('NAME = "users"', '\x0c\nNAME = "users"')
    code = module_code(text)
    helper = next(i for i, t in enumerate(text.split("\n"), 1) if t.startswith("def _helper"))
    name = next(i for i, t in enumerate(text.split("\n"), 1) if t.startswith("NAME"))
    assert code.ignores_at(helper) == ("MG107",) and code.ignores_at(helper + 2) == ("MG107",)
    assert code.ignores_at(name) == ()


def test_an_import_only_newly_used_is_the_using_code_s_change() -> None:
    """The multidb template imports `op` that its empty functions never use:
    an edit that starts using it changes a function, not the imports."""
    unused = MODULE.replace("    _helper(NAME)", "    sa.table('x')").replace(
        '    op.add_column(NAME, sa.Column("name", sa.String(50)))', "    sa.table('y')"
    )
    assert module_code(unused).digest != module_code(MODULE).digest  # `op` unused
    assert module_change(module_code(unused), module_code(MODULE)) is None
    assert module_change(module_code(MODULE), module_code(unused)) is None


WITH_BIND = MODULE.replace(
    "def upgrade():\n", "def upgrade():\n    bind = op.get_bind()\n    bind.execute(NAME)\n"
)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # an annotation on a constant, or on a value inside upgrade(), runs nothing
        (MODULE, MODULE.replace('NAME = "users"', 'NAME: str = "users"')),
        (MODULE, MODULE.replace('NAME = "users"', 'NAME: "Final[str]" = "users"\nCOUNT: int')),
        (WITH_BIND, WITH_BIND.replace("bind = op", 'bind: "Connection" = op')),
        # imports for annotations only
        (
            MODULE,
            MODULE.replace(
                "import sqlalchemy as sa\n",
                "import sqlalchemy as sa\nfrom typing import TYPE_CHECKING\n\n"
                "if TYPE_CHECKING:\n    from sqlalchemy.engine import Connection\n",
            ),
        ),
    ],
)
def test_annotation_edits_are_quiet(before: str, after: str) -> None:
    old, new = read_code(before.encode()), read_code(after.encode())
    assert old is not None and new is not None
    assert module_change(old.module, new.module) is None
    assert {n: b.digest for n, b in old.bodies.items()} == {
        n: b.digest for n, b in new.bodies.items()
    }


def test_nested_import_names_in_any_order_are_the_same() -> None:
    guarded = MODULE.replace(
        "import sqlalchemy as sa\n",
        "import sqlalchemy as sa\ntry:\n    from sqlalchemy.dialects import mysql, postgresql\n"
        "except ImportError:\n    mysql = postgresql = None\n",
    )
    reordered = guarded.replace("import mysql, postgresql", "import postgresql, mysql")
    assert module_change(module_code(guarded), module_code(reordered)) is None


def test_every_module_level_change_is_listed_so_a_waiver_hides_only_its_own() -> None:
    from mergeguard.parse.module_code import module_changes

    waived = MODULE.replace(
        'NAME = "users"', 'NAME = "users"\nOTHER = "x"  # mergeguard: ignore[MG107]'
    )
    edited = waived.replace('OTHER = "x"', 'OTHER = "y"').replace('NAME = "users"', 'NAME = "n"')
    changes = list(module_changes(module_code(waived), module_code(edited)))
    assert [c.what for c in changes] == [
        "changes `NAME = 'users'` to `NAME = 'n'`",
        "changes `OTHER = 'x'` to `OTHER = 'y'`",
    ]


def test_many_repeated_statements_are_compared_in_linear_time() -> None:
    """difflib's matching is quadratic: 100,000 equal statements took minutes.
    The common head and tail are stripped first; the change is still found."""
    old = MODULE + "x = 1\n" * 100_000
    new = old[: -len("x = 1\n")] + "y = 1\n"
    change = module_change(module_code(old), module_code(new))
    assert change is not None and change.what == "changes `x = 1` to `y = 1`"
    middle = MODULE + "x = 1\n" * 600 + "z = 2\n" + "x = 1\n" * 600
    shifted = MODULE + "x = 1\n" * 601 + "x = 1\n" * 600  # z removed: a long, equal middle
    found = module_change(module_code(middle), module_code(shifted))
    assert found is not None and "z = 2" in found.what
