"""Each rule's examples: its tests and the Example section of its docs.

An example is a small git history: revisions committed on ``main`` before the
fork (``base``), added to ``main`` after it (``theirs``) and added on
``feature`` (``ours``); then ``mergeguard check main..feature`` must report
exactly ``expect``.  The test suite builds each one as a real repository in
both Alembic template styles; ``docs`` renders them for docs/rules.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rev:
    """One migration file of an example.

    ``text`` replaces the generated file (a broken or dynamic file);
    ``doc_revises`` makes the docstring's ``Revises:`` line lie; ``delete``
    removes the file of that revision (on the side it is listed in).
    """

    revision: str
    down: str | tuple[str, ...] | None = None
    labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    file: str | None = None
    text: str | None = None
    doc_revises: str | None = None
    message: str | None = None
    delete: bool = False
    upgrade: str = "pass"

    @property
    def filename(self) -> str:
        return self.file or f"{self.revision}_migration.py"


@dataclass(frozen=True, slots=True)
class Example:
    """A history and what ``mergeguard check main..feature`` reports on it."""

    title: str
    base: tuple[Rev, ...]
    ours: tuple[Rev, ...] = ()
    theirs: tuple[Rev, ...] = ()
    expect: tuple[str, ...] = ()

    def shows(self, code: str) -> bool:
        """True when this is a bad example of rule ``code`` (it reports it)."""
        return code in self.expect


USERS = "op.create_table('users', sa.Column('id', sa.Integer(), primary_key=True))"
A1 = Rev("a1", None, message="create users", upgrade=USERS)
B2 = Rev(
    "b2",
    "a1",
    message="add users.name",
    upgrade="op.add_column('users', sa.Column('name', sa.String(50)))",
)
LINE = (A1, B2)
ADD_EMAIL = "op.add_column('users', sa.Column('email', sa.String(255), nullable=True))"
ADD_ORG_EMAIL = (
    "op.create_table('orgs', sa.Column('id', sa.Integer(), primary_key=True))\n"
    "op.add_column('orgs', sa.Column('email', sa.String(255)))"
)
CREATE_AUDIT = "op.create_table('audit_log', sa.Column('id', sa.Integer(), primary_key=True))"
INDEX_NAME = "op.create_index(op.f('ix_users_name'), 'users', ['name'])"
RENAME = "op.alter_column('users', 'name', new_column_name='{new}')"
ALTER_NAME = "op.alter_column('users', 'name', type_={type}, nullable=False)"
PYTHON2_C3 = (
    '"""add nothing\n\nRevision ID: c3\nRevises: b2\n"""\n'
    "revision = 'c3'\ndown_revision = 'b2'\n\n\ndef upgrade():\n    print \"upgrading\"\n"
)

EXAMPLES: dict[str, tuple[Example, ...]] = {
    "MG001": (
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
    ),
    "MG002": (
        Example(
            "down_revision computed by a call",
            LINE,
            ours=(
                Rev("c3", text="revision = 'c3'\ndown_revision = get_down_revision(revision)\n"),
            ),
            expect=("MG002",),
        ),
        Example("literal values", LINE, ours=(Rev("c3", "b2"),)),
    ),
    "MG003": (
        Example(
            "a new file reuses an existing id",
            LINE,
            ours=(Rev("b2", "a1", file="x_copy.py"),),
            expect=("MG003",),
        ),
        Example("a fresh id", LINE, ours=(Rev("c3", "b2"),)),
    ),
    "MG004": (
        Example("a typo in down_revision", LINE, ours=(Rev("c3", "b3"),), expect=("MG004",)),
        Example("the parent exists", LINE, ours=(Rev("c3", "b2"),)),
    ),
    "MG005": (
        Example(
            "two new revisions point at each other",
            LINE,
            ours=(Rev("c3", "d4"), Rev("d4", "c3")),
            expect=("MG005",),
        ),
        Example("a chain", LINE, ours=(Rev("c3", "b2"), Rev("d4", "c3"))),
    ),
    "MG006": (
        Example(
            "a branch label used twice",
            (A1, Rev("b2", "a1", labels=("billing",))),
            ours=(Rev("c3", "b2", labels=("billing",)),),
            expect=("MG006",),
        ),
        Example(
            "the label only on the branch's first revision",
            (A1, Rev("b2", "a1", labels=("billing",))),
            ours=(Rev("c3", "b2"),),
        ),
    ),
    "MG007": (
        Example("a '-' in a revision id", LINE, ours=(Rev("c3-hotfix", "b2"),), expect=("MG007",)),
        Example("letters, digits and underscores", LINE, ours=(Rev("c3_hotfix", "b2"),)),
    ),
    "MG008": (
        Example(
            "the docstring's Revises: line lies",
            LINE,
            ours=(Rev("c3", "b2", doc_revises="a1"),),
            expect=("MG008",),
        ),
        Example("the docstring agrees", LINE, ours=(Rev("c3", "b2"),)),
    ),
    "MG101": (
        Example(
            "the branch itself forks",
            LINE,
            ours=(Rev("c3", "b2"), Rev("d4", "b2")),
            expect=("MG101",),
        ),
        Example(
            "a second head inside one labelled line",
            (A1, Rev("x1", None, labels=("audit",))),
            ours=(Rev("x2", "x1"), Rev("x3", "x1")),
            expect=("MG101",),
        ),
        Example(
            "an independent labelled line is not a conflict",
            LINE,
            ours=(Rev("x1", None, labels=("audit",)), Rev("x2", "x1")),
        ),
    ),
    "MG102": (
        Example(
            "both branches add a revision on the same parent",
            LINE,
            theirs=(Rev("c3", "b2", message="add users.phone"),),
            ours=(Rev("d4", "b2", message="add users.email"),),
            expect=("MG102",),
        ),
        Example(
            "the branch starts from main's head", (A1, B2, Rev("c3", "b2")), ours=(Rev("d4", "c3"),)
        ),
    ),
    "MG103": (
        Example(
            "a published revision is deleted",
            (A1, B2, Rev("c3", "b2")),
            ours=(Rev("c3", delete=True),),
            expect=("MG103",),
        ),
        Example(
            "a published revision is re-pointed",
            (A1, B2, Rev("c3", "b2")),
            ours=(Rev("c3", "a1"),),
            expect=("MG101", "MG103"),
        ),
        Example(
            "new work goes into a new revision", (A1, B2, Rev("c3", "b2")), ours=(Rev("d4", "c3"),)
        ),
    ),
    "MG104": (
        Example(
            "a new root without a label", LINE, ours=(Rev("x1", None),), expect=("MG101", "MG104")
        ),
        Example("a new root with a label", LINE, ours=(Rev("x1", None, labels=("audit",)),)),
    ),
    "MG105": (
        Example(
            "both sides add revision c3 with different content",
            LINE,
            theirs=(Rev("c3", "b2", file="c3_add_phone.py", message="add phone"),),
            ours=(Rev("c3", "b2", file="c3_add_email.py", message="add email"),),
            expect=("MG105",),
        ),
        Example(
            "the same migration on both sides (a cherry-pick)",
            LINE,
            theirs=(Rev("c3", "b2"),),
            ours=(Rev("c3", "b2"),),
        ),
    ),
    "MG106": (
        Example(
            "a merge revision joins a revision with its own ancestor",
            LINE,
            ours=(Rev("c3", "b2"), Rev("m1", ("b2", "c3"))),
            expect=("MG106",),
        ),
        Example(
            "a merge revision joins two real heads",
            LINE,
            ours=(Rev("c3", "b2"), Rev("d4", "b2"), Rev("m1", ("c3", "d4"))),
        ),
    ),
    "MG201": (
        Example(
            "both branches add users.email",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=ADD_EMAIL),),
            ours=(Rev("d4", "b2", upgrade=ADD_EMAIL),),
            expect=("MG102", "MG201"),
        ),
        Example(
            "the same column name on different tables",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=ADD_EMAIL),),
            ours=(Rev("d4", "b2", upgrade=ADD_ORG_EMAIL),),
            expect=("MG102",),
        ),
    ),
    "MG202": (
        Example(
            "both branches create table audit_log",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=CREATE_AUDIT),),
            ours=(Rev("d4", "b2", upgrade=CREATE_AUDIT.replace("'id'", "'pk'")),),
            expect=("MG102", "MG202"),
        ),
        Example(
            "the same table name in two schemas",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=CREATE_AUDIT),),
            ours=(Rev("d4", "b2", upgrade=CREATE_AUDIT[:-1] + ", schema='archive')"),),
            expect=("MG102",),
        ),
    ),
    "MG203": (
        Example(
            "both branches create index ix_users_name",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=INDEX_NAME),),
            ours=(Rev("d4", "b2", upgrade=INDEX_NAME.replace("['name']", "['name', 'id']")),),
            expect=("MG102", "MG203"),
        ),
        Example(
            "different index names",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=INDEX_NAME),),
            ours=(Rev("d4", "b2", upgrade=INDEX_NAME.replace("ix_users_name", "ix_name")),),
            expect=("MG102",),
        ),
    ),
    "MG204": (
        Example(
            "one branch drops users.name, the other indexes it",
            LINE,
            theirs=(Rev("c3", "b2", upgrade="op.drop_column('users', 'name')"),),
            ours=(Rev("d4", "b2", upgrade=INDEX_NAME),),
            expect=("MG102", "MG204"),
        ),
        Example(
            "independent work on one table",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=ADD_EMAIL),),
            ours=(Rev("d4", "b2", upgrade=INDEX_NAME),),
            expect=("MG102",),
        ),
    ),
    "MG205": (
        Example(
            "both branches rename users.name",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=RENAME.format(new="full_name")),),
            ours=(Rev("d4", "b2", upgrade=RENAME.format(new="display_name")),),
            expect=("MG102", "MG205"),
        ),
        Example(
            "the same final state, spelled two ways",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=ALTER_NAME.format(type="sa.String(length=100)")),),
            ours=(Rev("d4", "b2", upgrade=ALTER_NAME.format(type="sa.VARCHAR(100)")),),
            expect=("MG102",),
        ),
        Example(
            "alterations of different columns",
            LINE,
            theirs=(Rev("c3", "b2", upgrade=RENAME.format(new="full_name")),),
            ours=(Rev("d4", "b2", upgrade="op.alter_column('users', 'id', nullable=False)"),),
            expect=("MG102",),
        ),
    ),
}
