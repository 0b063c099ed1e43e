"""MG001 unparsable-migration: its documentation (the reader and the graph report it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mergeguard import codes
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = codes.MG001

PYTHON2_C3 = (
    '"""add nothing\n\nRevision ID: c3\nRevises: b2\n"""\n'
    "revision = 'c3'\ndown_revision = 'b2'\n\n\ndef upgrade():\n    print \"upgrading\"\n"
)


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "a syntax error in a new migration",
            LINE,
            ours=(Rev("c3", text="revision = 'c3'\ndown_revision = 'b2'\ndef upgrade(:\n"),),
            expect=("MG001",),
        ),
        Example(
            "a helper module in the versions directory",
            LINE,
            ours=(Rev("helpers", file="helpers.py", text="def helper():\n    return 1\n"),),
            expect=("MG001",),
        ),
        Example(
            "a Python 2 migration: its header is recovered, so the fork with main is found",
            LINE,
            ours=(Rev("c3", text=PYTHON2_C3),),
            theirs=(Rev("d4", "b2"),),
            expect=("MG001", "MG102"),
        ),
        Example("a valid migration", LINE, ours=(Rev("c3", "b2"),)),
    )


RULE = Rule(
    CODE,
    what=(
        "A file in a versions directory that Python 3 cannot parse (a syntax error, bytes "
        "that are not valid in its encoding, a binary file), or a module there that is not "
        "a migration at all (no `revision` variable).  When a file that cannot be parsed "
        "(a Python 2 migration, a syntax error below the header) still has an unambiguous "
        "header (`revision`, `down_revision`, `branch_labels`, `depends_on` each assigned "
        "once in column 0 to a literal), the finding says the header was recovered and the "
        "revision keeps its place in the graph: its children are not orphans and a fork "
        "below it is still reported."
    ),
    why=(
        "Alembic imports every `.py` file of a versions directory; one that fails stops "
        "`alembic upgrade` for everybody, and a helper module there makes Alembic refuse "
        'the directory ("Could not determine revision id from filename").'
    ),
    fix=(
        "Fix the syntax (the finding names the line), re-save the file as UTF-8, or move "
        "helper modules out of the versions directory (`__init__.py` is skipped)."
    ),
    build_examples=_examples,
)
