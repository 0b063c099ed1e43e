"""The building blocks of the rules' examples (each unit's ``examples``): its
tests and the Example section of its docs.

An example is a small git history: revisions committed on ``main`` before the
fork (``base``), added to ``main`` after it (``theirs``) and added on
``feature`` (``ours``); then ``mergeguard check main..feature`` must report
exactly ``expect``.  The test suite builds each one as a real repository in
both Alembic template styles; ``docs`` renders them for docs/rules.md.
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
INDEX_NAME = "op.create_index(op.f('ix_users_name'), 'users', ['name'])"
