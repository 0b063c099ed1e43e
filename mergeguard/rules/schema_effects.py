"""What one branch does to the schema: its readable ``upgrade()`` operations
folded, in upgrade order, into the objects they create, drop or change.

Objects are keyed by (schema, table, name) with unquoted identifiers
case-folded as databases do.  Folding decides what a conflict can be:

- an object a branch drops and then creates again (a constraint recreated
  with other columns, a column re-added with another type) is *recreated*: it
  existed before, so creating it is not a duplicate, and dropping it is not a
  drop the other branch could trip over;
- the alterations of one column fold into the final state they set, so two
  branches that set the same state (however the type is spelled) agree;
- a creation guarded by ``if_not_exists=True`` / ``IF NOT EXISTS`` cannot
  fail as a duplicate;
- index, unique and primary-key names (and named types) live in one
  namespace per schema on PostgreSQL and SQLite; foreign-key and check
  constraint names only per table (and a naming convention prefixes them
  with the table), so those collide only on the same table.
"""

from __future__ import annotations

import re

from mergeguard.model import Operation
from mergeguard.rules.schema_sides import Branch, Change

Key = tuple[str, ...]

NAMED = frozenset(
    {
        "create_index",
        "create_unique_constraint",
        "create_foreign_key",
        "create_check_constraint",
        "create_primary_key",
        "create_enum",
    }
)
PER_TABLE_NAMES = frozenset({"create_foreign_key", "create_check_constraint"})
TOUCHES_TABLE = frozenset(
    {
        "add_column",
        "drop_column",
        "alter_column",
        "create_index",
        "create_unique_constraint",
        "create_foreign_key",
        "create_check_constraint",
        "create_primary_key",
        "drop_constraint",
        "create_table_comment",
        "rename_table",
        "drop_index",
    }
)


def fold(name: str | None) -> str:
    return (name or "").lower()


def table_key(op: Operation) -> tuple[str, str]:
    return (fold(op.schema), fold(op.table))


def column_key(op: Operation, column: str | None = None) -> tuple[str, str, str]:
    return (fold(op.schema), fold(op.table), fold(column if column is not None else op.name))


def name_key(op: Operation) -> tuple[str, str]:
    return (fold(op.schema), fold(op.name))


def show(key: Key) -> str:
    return ".".join(part for part in key if part)


def same_namespace(one: Operation, other: Operation) -> bool:
    """True when two named objects with the same name collide (see the module doc)."""
    if one.kind in PER_TABLE_NAMES or other.kind in PER_TABLE_NAMES:
        return fold(one.table) == fold(other.table)
    return True


_PREFIX = re.compile(r"\b(?:sa|sqlalchemy|sqltypes|types|postgresql|mysql|sqlite|dialects)\.")
_SYNONYMS = {"varchar": "string", "integer": "integer", "int": "integer", "bool": "boolean"}


def normal_value(value: str) -> str:
    """``sa.String(length=100)`` and ``sa.VARCHAR(100)`` are the same type."""
    text = _PREFIX.sub("", value).lower().replace(" ", "").replace("length=", "")
    head, paren, rest = text.partition("(")
    return _SYNONYMS.get(head, head) + paren + rest


class Alteration:
    """The state one branch's ``alter_column`` calls set on one column."""

    def __init__(self, first: Change) -> None:
        self.first = first
        self.state: dict[str, str] = {}
        self.renames = False

    def add(self, op: Operation) -> None:
        for key, value in op.detail:
            self.state[key] = normal_value(value)
        self.renames = self.renames or op.get("new_column_name") is not None

    def conflicts_with(self, other: Alteration) -> bool:
        """A rename conflicts with any other alteration of the column (the
        second one no longer finds it); otherwise only a setting both give,
        with different values."""
        if self.renames or other.renames:
            return True
        return any(self.state[k] != other.state[k] for k in self.state.keys() & other.state.keys())


class Effects:
    """A branch's operations indexed by the objects they create, drop or change."""

    def __init__(self, branch: Branch) -> None:
        self.tables: dict[Key, Change] = {}
        self.columns: dict[Key, Change] = {}
        self.named: dict[Key, list[Change]] = {}
        self.dropped_tables: dict[Key, Change] = {}
        self.dropped_columns: dict[Key, Change] = {}
        self.dropped_named: set[Key] = set()
        self.recreated: set[Key] = set()
        self.alters: dict[Key, Alteration] = {}
        self.table_uses: dict[Key, Change] = {}
        self.column_uses: dict[Key, Change] = {}
        for change in branch.changes:
            if not change.op.opaque and change.op.function == "upgrade":
                self.add(change)

    def add(self, change: Change) -> None:
        op = change.op
        if op.get("if_not_exists"):
            self.uses(change)  # it cannot fail as a duplicate: no creation to compare
            return
        if op.kind == "create_table":
            self._create(self.tables, self.dropped_tables, table_key(op), change)
        elif op.kind == "rename_table":
            self._create(self.tables, self.dropped_tables, name_key(op), change)
        elif op.kind == "add_column":
            self._create(self.columns, self.dropped_columns, column_key(op), change)
        elif op.kind == "drop_table":
            self.dropped_tables.setdefault(table_key(op), change)
        elif op.kind == "drop_column":
            self.dropped_columns.setdefault(column_key(op), change)
        elif op.kind in ("drop_index", "drop_constraint") and op.name:
            self.dropped_named.add(name_key(op))
        elif op.kind == "alter_column":
            self.alters.setdefault(column_key(op), Alteration(change)).add(op)
        if op.kind in NAMED and op.name:
            if name_key(op) in self.dropped_named:
                self.recreated.add(name_key(op))
            else:
                self.named.setdefault(name_key(op), []).append(change)
        self.uses(change)

    def _create(
        self, created: dict[Key, Change], dropped: dict[Key, Change], key: Key, change: Change
    ) -> None:
        if dropped.pop(key, None) is not None:
            self.recreated.add(key)  # it existed before this branch: not a new object
        else:
            created.setdefault(key, change)

    def surviving(self) -> Effects:
        """Only the objects still there at the end of the branch (created, then
        not dropped): what a branch that runs after this one meets.  (Between
        siblings a created-then-dropped object still collides, by order.)"""
        for created, dropped in (
            (self.tables, self.dropped_tables),
            (self.columns, self.dropped_columns),
        ):
            for key in created.keys() & dropped.keys():
                del created[key]
        for key in self.named.keys() & self.dropped_named:
            del self.named[key]
        return self

    def uses(self, change: Change) -> None:
        """Tables and columns the operation depends on (for MG204)."""
        op = change.op
        if op.kind in TOUCHES_TABLE and op.table:
            self.table_uses.setdefault(table_key(op), change)
        referent = op.get("referent")
        if referent:
            self.table_uses.setdefault((fold(op.schema), fold(referent)), change)
        if op.kind in ("alter_column", "drop_column"):
            self.column_uses.setdefault(column_key(op), change)
        for column in op.columns if op.kind != "create_table" else ():
            self.column_uses.setdefault(column_key(op, column), change)

    def summary(self) -> list[str]:
        """``+users.email``, ``+ix_users_email``, ``-legacy``, ``~users.status``."""
        items = [f"+{show(k)}" for k in self.tables] + [f"+{show(k)}" for k in self.columns]
        items += [f"+{show(k)}" for k in self.named]
        items += [f"-{show(k)}" for k in (*self.dropped_tables, *self.dropped_columns)]
        items += [f"~{show(k)}" for k in (*self.recreated, *self.alters)]
        return items
