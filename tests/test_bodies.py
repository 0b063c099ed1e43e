"""parse/bodies.py: upgrade/downgrade code as normalised syntax (MG107's reader).

Table-driven on file texts: which edits change a function's digest, where the
first change is and how it is described, and that hostile bytes end in None
(never an exception, never a parse of a file over the limits)."""

from __future__ import annotations

import pytest

from mergeguard.parse.bodies import body_fingerprints, first_change, read_bodies
from mergeguard.parse.bounds import MAX_FILE_BYTES, MAX_NESTING

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
