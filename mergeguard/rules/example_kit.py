"""The building blocks of the rules' examples (each unit's ``examples``): its
tests and the Example section of its docs.

An example is a small git history: revisions committed on ``main`` before the
fork (``base``), added to ``main`` after it (``theirs``) and added on
``feature`` (``ours``); then ``mergeguard check main..feature`` must report
exactly ``expect``.  ``databases`` are deployed databases the example
configures (SQLite files whose version tables the test writes).  The test
suite builds each one as a real repository in both Alembic template styles;
``docs`` renders them for docs/rules.md.
"""

from __future__ import annotations

from mergeguard.model import frozen


@frozen
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


@frozen
class Deployed:
    """A deployed database of an example (``[tool.mergeguard.databases]``):
    a SQLite file whose ``alembic_version`` holds ``current`` (None: no
    version table), or, ``unreachable``, an ``env:`` URL whose variable is
    not set."""

    name: str
    current: tuple[str, ...] | None = ()
    unreachable: bool = False

    def describe(self) -> str:
        if self.unreachable:
            return f"{self.name} unreachable"
        if self.current is None:
            return f"{self.name} without a version table"
        return f"{self.name} on {', '.join(self.current) or 'nothing'}"


@frozen
class Example:
    """A history and what ``mergeguard check main..feature`` reports on it
    (with ``databases`` configured as deployed databases)."""

    title: str
    base: tuple[Rev, ...]
    ours: tuple[Rev, ...] = ()
    theirs: tuple[Rev, ...] = ()
    expect: tuple[str, ...] = ()
    databases: tuple[Deployed, ...] = ()

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
INDEX_NAME = "op.create_index(op.f('ix_users_name'), 'users', ['name'])"
