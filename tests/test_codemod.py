"""The down_revision codemod: golden whole-file rewrites, byte for byte.

Each case spells out the file before and after in full.  Besides the golden
comparison, every case is checked for what the rewrite may touch (only the
last down_revision statement and the docstring's Revises: line), that the
result parses, that its value reads back as the requested ids, and that
rewriting it again to the same ids changes nothing.

``\\x20`` spells the trailing space of an empty ``Revises: `` line (as Alembic
writes it) so that this file has no trailing whitespace.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mergeguard.fix.codemod import CodemodError, repoint, rewrite_revises
from mergeguard.model import Span, Spans
from mergeguard.parse.source import decode


@dataclass(frozen=True)
class Case:
    name: str
    before: bytes
    ids: tuple[str, ...]
    after: bytes
    # Written as repoint writes its ids, whatever they were before: then
    # repoint(repoint(before, x), <its own ids>) == before for any x.
    representable: bool = True


CASES = [
    Case(
        "plain-single-quotes",
        b'''"""add users

Revision ID: b2
Revises: a1
Create Date: 2024-01-01 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2'
down_revision = 'a1'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
''',
        ("c3",),
        b'''"""add users

Revision ID: b2
Revises: c3
Create Date: 2024-01-01 00:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b2'
down_revision = 'c3'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
''',
    ),
    Case(
        "double-quotes",
        b'''"""add users

Revision ID: b2
Revises: a1
Create Date: 2024-01-01 00:00:00.000000

"""
from alembic import op

revision = "b2"
down_revision = "a1"
branch_labels = None
depends_on = None
''',
        ("c3",),
        b'''"""add users

Revision ID: b2
Revises: c3
Create Date: 2024-01-01 00:00:00.000000

"""
from alembic import op

revision = "b2"
down_revision = "c3"
branch_labels = None
depends_on = None
''',
    ),
    Case(
        "annotated",
        b'''"""add users

Revision ID: b2
Revises: a1
Create Date: 2024-01-01 00:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'b2'
down_revision: Union[str, Sequence[str], None] = 'a1'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
''',
        ("c3",),
        b'''"""add users

Revision ID: b2
Revises: c3
Create Date: 2024-01-01 00:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = 'b2'
down_revision: Union[str, Sequence[str], None] = 'c3'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
''',
    ),
    Case(
        "trailing-comment-and-spacing",
        b'''"""add users

Revision ID: b2
Revises: a1
"""
revision = 'b2'
down_revision  =   'a1'  # mergeguard: ignore[MG101]  # noqa: E501
branch_labels = None
''',
        ("c3",),
        b'''"""add users

Revision ID: b2
Revises: c3
"""
revision = 'b2'
down_revision  =   'c3'  # mergeguard: ignore[MG101]  # noqa: E501
branch_labels = None
''',
    ),
    Case(
        "merge-tuple-to-one-id",
        b'''"""merge a1 and a2

Revision ID: b2
Revises: a1, a2
Create Date: 2024-01-01 00:00:00.000000

"""
revision = 'b2'
down_revision = ('a1', 'a2')
branch_labels = None
depends_on = None
''',
        ("c3",),
        b'''"""merge a1 and a2

Revision ID: b2
Revises: c3
Create Date: 2024-01-01 00:00:00.000000

"""
revision = 'b2'
down_revision = 'c3'
branch_labels = None
depends_on = None
''',
    ),
    Case(
        "one-id-to-tuple",
        b'''"""add users

Revision ID: b2
Revises: a1
Create Date: 2024-01-01 00:00:00.000000

"""
revision: str = 'b2'
down_revision: Union[str, Sequence[str], None] = 'a1'
''',
        ("c3", "d4"),
        b'''"""add users

Revision ID: b2
Revises: c3, d4
Create Date: 2024-01-01 00:00:00.000000

"""
revision: str = 'b2'
down_revision: Union[str, Sequence[str], None] = ('c3', 'd4')
''',
    ),
    Case(
        "several-ids-to-several",
        b'''"""merge

Revision ID: b2
Revises: a1, a2
Create Date: 2024-01-01 00:00:00.000000

"""
revision = "b2"
down_revision = ("a1", "a2")
''',
        ("c3", "d4", "e5"),
        b'''"""merge

Revision ID: b2
Revises: c3, d4, e5
Create Date: 2024-01-01 00:00:00.000000

"""
revision = "b2"
down_revision = ("c3", "d4", "e5")
''',
    ),
    Case(
        "none-to-id-takes-revision-quotes",
        b'''"""first

Revision ID: b2
Revises:\x20
Create Date: 2024-01-01 00:00:00.000000

"""
revision = "b2"
down_revision = None
branch_labels = None
''',
        ("c3",),
        b'''"""first

Revision ID: b2
Revises: c3
Create Date: 2024-01-01 00:00:00.000000

"""
revision = "b2"
down_revision = "c3"
branch_labels = None
''',
    ),
    Case(
        "tuple-to-none",
        b'''"""merge

Revision ID: b2
Revises: a1
"""
revision = 'b2'
down_revision = ('a1',)
''',
        (),
        b'''"""merge

Revision ID: b2
Revises:\x20
"""
revision = 'b2'
down_revision = None
''',
        representable=False,  # one id reads back as a string, not a 1-tuple
    ),
    Case(
        "crlf",
        b'''"""add users\r
\r
Revision ID: b2\r
Revises: a1\r
Create Date: 2024-01-01 00:00:00.000000\r
\r
"""\r
from alembic import op\r
\r
revision = 'b2'\r
down_revision = 'a1'  # noqa\r
\r
\r
def upgrade():\r
    pass\r
''',
        ("c3", "d4"),
        b'''"""add users\r
\r
Revision ID: b2\r
Revises: c3, d4\r
Create Date: 2024-01-01 00:00:00.000000\r
\r
"""\r
from alembic import op\r
\r
revision = 'b2'\r
down_revision = ('c3', 'd4')  # noqa\r
\r
\r
def upgrade():\r
    pass\r
''',
    ),
    Case(
        "no-docstring",
        b"""from alembic import op

revision = 'b2'
down_revision = 'a1'
""",
        ("c3",),
        b"""from alembic import op

revision = 'b2'
down_revision = 'c3'
""",
    ),
    Case(
        "docstring-without-revises",
        b'''"""Add users.

Revises nothing here: the header is hand-written.
"""
revision = 'b2'
down_revision = 'a1'
''',
        ("c3",),
        b'''"""Add users.

Revises nothing here: the header is hand-written.
"""
revision = 'b2'
down_revision = 'c3'
''',
    ),
    Case(
        "indented-revises-line",
        b'''"""add users

    Revision ID: b2
    Revises: a1
"""
revision = 'b2'
down_revision = 'a1'
''',
        ("c3", "d4"),
        b'''"""add users

    Revision ID: b2
    Revises: c3, d4
"""
revision = 'b2'
down_revision = ('c3', 'd4')
''',
    ),
    Case(
        "latin-1-cookie",
        b'''# -*- coding: latin-1 -*-
"""ajoute la colonne pr\xe9nom (\xe0 v\xe9rifier)

Revision ID: b2
Revises: a1
Create Date: 2024-01-01 00:00:00.000000

"""
revision = 'b2'
down_revision = 'a1'  # d\xe9j\xe0 vu
''',
        ("c3",),
        b'''# -*- coding: latin-1 -*-
"""ajoute la colonne pr\xe9nom (\xe0 v\xe9rifier)

Revision ID: b2
Revises: c3
Create Date: 2024-01-01 00:00:00.000000

"""
revision = 'b2'
down_revision = 'c3'  # d\xe9j\xe0 vu
''',
    ),
    Case(
        "utf-8-bom",
        b'''\xef\xbb\xbf"""ajoute la colonne pr\xc3\xa9nom

Revision ID: b2
Revises: a1
"""
revision = 'b2'
down_revision = 'a1'
''',
        ("c3",),
        b'''\xef\xbb\xbf"""ajoute la colonne pr\xc3\xa9nom

Revision ID: b2
Revises: c3
"""
revision = 'b2'
down_revision = 'c3'
''',
    ),
    Case(
        "no-final-newline",
        b'''"""add users

Revision ID: b2
Revises: a1
"""
revision = 'b2'
down_revision = 'a1'  # last line''',
        ("c3",),
        b'''"""add users

Revision ID: b2
Revises: c3
"""
revision = 'b2'
down_revision = 'c3'  # last line''',
    ),
    Case(
        "assigned-twice-last-changes",
        b'''"""add users

Revision ID: b2
Revises: a1
"""
revision = 'b2'
down_revision = 'zz'
if False:
    down_revision = 'yy'
down_revision = 'a1'
''',
        ("c3",),
        b'''"""add users

Revision ID: b2
Revises: c3
"""
revision = 'b2'
down_revision = 'zz'
if False:
    down_revision = 'yy'
down_revision = 'c3'
''',
    ),
    Case(
        "list-to-list",
        b'''"""merge

Revision ID: b2
Revises: a1, a2
"""
revision = 'b2'
down_revision = ['a1','a2']
''',
        ("c3", "d4"),
        b'''"""merge

Revision ID: b2
Revises: c3, d4
"""
revision = 'b2'
down_revision = ['c3', 'd4']
''',
        representable=False,  # one id in between loses the list
    ),
    Case(
        "list-to-one-id",
        b'''"""merge

Revision ID: b2
Revises: a1, a2
"""
revision = 'b2'
down_revision = ["a1", "a2"]
''',
        ("c3",),
        b'''"""merge

Revision ID: b2
Revises: c3
"""
revision = 'b2'
down_revision = "c3"
''',
        representable=False,  # one id in between loses the list
    ),
    Case(
        "implicit-concatenation",
        b'''"""add users

Revision ID: b2
Revises: 1975ea83b712
"""
revision = 'b2'
down_revision = "1975ea83" '' 'b712'
''',
        ("c3",),
        b'''"""add users

Revision ID: b2
Revises: c3
"""
revision = 'b2'
down_revision = "c3"
''',
        representable=False,  # one literal replaces the concatenation
    ),
    Case(
        "parenthesised-string-keeps-parentheses",
        b'''"""add users

Revision ID: b2
Revises: a1
"""
revision = 'b2'
down_revision = (  # the parent
    'a1'
)
''',
        ("c3",),
        b'''"""add users

Revision ID: b2
Revises: c3
"""
revision = 'b2'
down_revision = (  # the parent
    'c3'
)
''',
        representable=False,  # several ids in between replace the parentheses
    ),
    Case(
        "bare-tuple-stays-bare",
        b'''"""merge

Revision ID: b2
Revises: a1, a2
"""
revision = 'b2'
down_revision = 'a1', 'a2'
''',
        ("c3", "d4"),
        b'''"""merge

Revision ID: b2
Revises: c3, d4
"""
revision = 'b2'
down_revision = 'c3', 'd4'
''',
        representable=False,  # one id in between loses the bare-tuple style
    ),
]

BY_NAME = {case.name: case for case in CASES}


def _last_down_revision(tree: ast.Module) -> ast.Assign | ast.AnnAssign:
    found: ast.Assign | ast.AnnAssign | None = None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "down_revision" for t in node.targets
        ):
            found = node
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == "down_revision"
        ):
            found = node
    assert found is not None
    return found


def _literal(source: bytes) -> object:
    """``ast.literal_eval`` of the last down_revision value of ``source``."""
    value = _last_down_revision(ast.parse(source)).value
    assert value is not None
    return ast.literal_eval(value)


def _as_ids(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    assert isinstance(value, (tuple, list))
    return tuple(value)


def _value_lines(source: bytes) -> set[int]:
    """0-based lines of the last down_revision statement and the Revises: line."""
    node = _last_down_revision(ast.parse(source))
    lines = set(range(node.lineno - 1, (node.end_lineno or node.lineno)))
    for index, line in enumerate(decode(source).splitlines()):
        if re.match(r"[ \t]*Revises:", line):
            lines.add(index)
            break
    return lines


def _changed_lines(before: bytes, after: bytes) -> tuple[set[int], set[int]]:
    old = decode(before).splitlines(keepends=True)
    new = decode(after).splitlines(keepends=True)
    removed: set[int] = set()
    added: set[int] = set()
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag != "equal":
            removed.update(range(i1, i2))
            added.update(range(j1, j2))
    return removed, added


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden(case: Case) -> None:
    assert repoint(case.before, case.ids) == case.after


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_changes_only_the_value_and_revises_lines(case: Case) -> None:
    after = repoint(case.before, case.ids)
    removed, added = _changed_lines(case.before, after)
    assert removed <= _value_lines(case.before)
    assert added <= _value_lines(after)
    assert removed and added  # the value line always changes in these cases


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_result_parses_to_the_requested_ids(case: Case) -> None:
    after = repoint(case.before, case.ids)
    value = _literal(after)
    assert _as_ids(value) == case.ids
    if len(case.ids) == 1:
        assert isinstance(value, str)
    elif len(case.ids) > 1:
        assert isinstance(value, (tuple, list))
    else:
        assert value is None


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_rewriting_again_changes_nothing(case: Case) -> None:
    assert repoint(case.after, case.ids) == case.after


REPRESENTABLE = [case for case in CASES if case.representable]


@pytest.mark.parametrize("case", REPRESENTABLE, ids=lambda c: c.name)
def test_representable_cases_are_their_own_rendering(case: Case) -> None:
    original = _as_ids(_literal(case.before))
    assert repoint(case.before, original) == case.before


REVISION_IDS = st.lists(st.from_regex(r"[0-9a-z_]{1,12}", fullmatch=True), max_size=4).map(tuple)


@pytest.mark.parametrize("case", REPRESENTABLE, ids=lambda c: c.name)
@settings(max_examples=40, deadline=None)
@given(ids=REVISION_IDS)
def test_round_trip(case: Case, ids: tuple[str, ...]) -> None:
    original = _as_ids(_literal(case.before))
    moved = repoint(case.before, ids)
    assert _as_ids(_literal(moved)) == ids
    assert repoint(moved, original) == case.before


# -- refusals -------------------------------------------------------------------------

NOT_LITERAL = "down_revision in this file is not a literal; rewrite it by hand"
NO_ASSIGNMENT = "this file has no module-level down_revision assignment to rewrite"


@pytest.mark.parametrize(
    "source",
    [
        b"from x import get_down_revision\nrevision = 'b2'\n"
        b"down_revision = get_down_revision(revision)\n",
        b"PARENT = 'a1'\ndown_revision = PARENT\n",
        b"import ids\ndown_revision = ids.PARENT\n",
        b"down_revision = 'a' + '1'\n",
        b"down_revision = f'{1}a'\n",
        b"down_revision = b'a1'\n",
        b"down_revision = ('a1', PARENT)\n",
        b"down_revision = (*PARENTS,)\n",
        b"down_revision: str = 1\n",
    ],
)
def test_not_a_literal(source: bytes) -> None:
    with pytest.raises(CodemodError) as info:
        repoint(source, ("c3",))
    assert str(info.value) == NOT_LITERAL


@pytest.mark.parametrize(
    "source",
    [
        b'"""Revises: a1"""\nrevision = "b2"\n',
        b"down_revision: str\n",
        b"def f():\n    down_revision = 'a1'\n",
        b"class C:\n    down_revision = 'a1'\n",
    ],
)
def test_no_assignment(source: bytes) -> None:
    with pytest.raises(CodemodError) as info:
        repoint(source, ("c3",))
    assert str(info.value) == NO_ASSIGNMENT


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            b"if True:\n    down_revision = 'a1'\n",
            "down_revision in this file is assigned inside an if block; rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\ntry:\n    down_revision = 'a2'\nexcept ImportError:\n"
            b"    pass\n",
            "down_revision in this file is assigned inside a try block; rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\nwith open('x') as down_revision:\n    pass\n",
            "down_revision in this file is assigned inside a with block; rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\nfor down_revision in ('a2',):\n    pass\n",
            "down_revision in this file is assigned inside a for loop; rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\ndef down_revision():\n    pass\n",
            "down_revision in this file is assigned inside a function definition; "
            "rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\ndown_revision += 'x'\n",
            "down_revision in this file is bound by an augmented assignment; rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\nfrom ids import down_revision\n",
            "down_revision in this file is bound by an import; rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\nrevision, down_revision = 'b2', 'a2'\n",
            "down_revision in this file is bound by an unpacking assignment; rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\ndel down_revision\n",
            "down_revision in this file is bound by a del statement; rewrite it by hand",
        ),
        (
            b"down_revision = 'a1'\nprint(down_revision := 'a2')\n",
            "down_revision in this file is bound by an assignment expression; rewrite it by hand",
        ),
        (
            b"revision = down_revision = 'a1'\n",
            "down_revision in this file is assigned together with other names; rewrite it by hand",
        ),
    ],
)
def test_bound_some_other_way(source: bytes, message: str) -> None:
    with pytest.raises(CodemodError) as info:
        repoint(source, ("c3",))
    assert str(info.value) == message


def test_an_earlier_compound_binding_does_not_matter() -> None:
    source = b"try:\n    down_revision = 'zz'\nexcept Exception:\n    pass\ndown_revision = 'a1'\n"
    expected = (
        b"try:\n    down_revision = 'zz'\nexcept Exception:\n    pass\ndown_revision = 'c3'\n"
    )
    assert repoint(source, ("c3",)) == expected


def test_a_local_in_a_function_does_not_matter() -> None:
    source = b"down_revision = 'a1'\n\n\ndef upgrade():\n    down_revision = 'x'\n"
    expected = b"down_revision = 'c3'\n\n\ndef upgrade():\n    down_revision = 'x'\n"
    assert repoint(source, ("c3",)) == expected


@pytest.mark.parametrize("bad", ["", "a b", "a,b", "a'b", 'a"b', "a\\b", "a\nb"])
def test_ids_that_cannot_be_written(bad: str) -> None:
    with pytest.raises(CodemodError, match="cannot be written as a revision id"):
        repoint(BY_NAME["plain-single-quotes"].before, ("c3", bad))


def test_id_outside_the_file_encoding() -> None:
    with pytest.raises(CodemodError, match=r"cannot be written in this file's encoding"):
        repoint(BY_NAME["latin-1-cookie"].before, ("c\u20ac",))


def test_unreadable_files() -> None:
    with pytest.raises(CodemodError, match="cannot be parsed"):
        repoint(b"down_revision = (\n", ("c3",))
    with pytest.raises(CodemodError, match="cannot be read"):
        repoint(b"down_revision = '\xff'\n", ("c3",))


def test_an_escaped_line_break_after_revises_stays() -> None:
    source = b'"""x\nRevises: a1\\n"""\ndown_revision = \'a1\'\n'
    expected = b'"""x\nRevises: c3\\n"""\ndown_revision = \'c3\'\n'
    assert repoint(source, ("c3",)) == expected


def test_rewrite_revises() -> None:
    assert rewrite_revises("Revises: a1\r\n", ["c3", "d4"]) == "Revises: c3, d4\r\n"
    assert rewrite_revises("    Revises:   a1, a2", []) == "    Revises: "
    with pytest.raises(ValueError):
        rewrite_revises("Revision ID: a1\n", ["c3"])


def test_the_statement_the_reader_read_is_the_one_edited() -> None:
    # The reader takes ``down_revision`` as set inside the ``if`` (MG002 at
    # line 2); the codemod's own analysis used to skip the value-less
    # annotation and rewrite line 1, a line `check` had not read.
    source = b"down_revision = 'a1'\nif False:\n    down_revision: str\n"
    with pytest.raises(CodemodError) as info:
        repoint(source, ("c3",))
    assert str(info.value) == (
        "down_revision in this file is assigned inside an if block; rewrite it by hand"
    )


def test_a_file_changed_since_it_was_read_is_not_edited() -> None:
    read = Spans(revision=Span(1), down_revision=Span(2))
    assert repoint(b"revision = 'b2'\ndown_revision = 'a1'\n", ("c3",), read).endswith(
        b"down_revision = 'c3'\n"
    )
    with pytest.raises(CodemodError) as info:
        repoint(b"revision = 'b2'\n\ndown_revision = 'a1'\n", ("c3",), read)
    assert str(info.value) == (
        "this file changed since mergeguard read it (down_revision was read at line 2, "
        "column 1, the file now sets it at line 3, column 1); run mergeguard again"
    )
