"""The same migration committed on both sides under two ids (*twins*), for the
schema rules (MG2xx): reported once, under the rule it breaks first.

Only when the two revisions' readable operations are equal and non-empty (and
none is opaque), or their normalised ``upgrade()`` code is identical and does
something readable.  Revisions that only do what cannot be read (helper calls,
``conn.execute(...)``, loops) are never twins; nor are revisions whose
operations all repeat harmlessly (the same alteration twice).
"""

from __future__ import annotations

from mergeguard.model import Location, Operation
from mergeguard.rules.schema_effects import NAMED, column_key, fold, name_key, show, table_key
from mergeguard.rules.schema_sides import Branch, Change


def _signature(changes: list[Change]) -> tuple[object, ...]:
    return tuple(
        (
            c.op.kind,
            fold(c.op.table),
            fold(c.op.name),
            fold(c.op.schema),
            c.op.columns,
            c.op.detail,
        )
        for c in changes
    )


def _upgrade(branch: Branch, revision: str) -> list[Change]:
    return [c for c in branch.changes if c.revision == revision and c.op.function == "upgrade"]


def are_twins(one: Branch, rev_a: str, other: Branch, rev_b: str) -> bool:
    """The same migration: equal readable operations (none opaque, not empty),
    or identical normalised upgrade() code that does something readable."""
    changes_a, changes_b = _upgrade(one, rev_a), _upgrade(other, rev_b)
    readable_a = [c for c in changes_a if not c.op.opaque]
    if not readable_a or rev_a == rev_b:
        return False
    if len(readable_a) == len(changes_a) and not any(c.op.opaque for c in changes_b):
        if _signature(readable_a) == _signature(changes_b):
            return True
    digest = one.digest(rev_a)
    return bool(digest) and digest == other.digest(rev_b)


# operations that can run twice without failing: twins made only of these are harmless
_REPEATABLE = frozenset({"alter_column", "create_table_comment", "drop_table_comment"})


Twin = tuple[tuple[str, ...], str, str, Location, Location]


def same_migrations(one: Branch, other: Branch) -> list[Twin]:
    """(revisions, code, message, location, the other's location) of revisions
    whose upgrade() is the same on both sides under two ids."""
    found: list[Twin] = []
    for rev_a in one.revisions:
        for rev_b in other.revisions:
            if not are_twins(one, rev_a, other, rev_b):
                continue
            readable = [c for c in _upgrade(one, rev_a) if not c.op.opaque]
            if all(c.op.kind in _REPEATABLE for c in readable):
                continue  # the second run repeats it harmlessly
            a, b = readable[0], _upgrade(other, rev_b)[0]
            objects = ", ".join(_object(c.op) for c in readable)
            message = (
                f"the same migration is on both sides under two ids ({objects}): "
                f"{a.where} on {one.label} and {b.where} on {other.label}; whichever runs "
                "second fails as soon as it repeats the first's changes"
            )
            found.append(((rev_a, rev_b), _twin_code(readable), message, a.location, b.location))
    return found


def _object(op: Operation) -> str:
    """``add_column users.email``: what an operation does to which object."""
    if op.kind in ("add_column", "drop_column", "alter_column"):
        key: tuple[str, ...] = column_key(op)
    elif op.kind in NAMED:
        key = name_key(op)
    else:
        key = table_key(op)
    return f"{op.kind} {show(key)}"


def _twin_code(changes: list[Change]) -> str:
    """The rule a repeated migration breaks first: by what it creates or drops."""
    kinds = {c.op.kind for c in changes}
    for code, wanted in (
        ("MG202", {"create_table", "rename_table"}),
        ("MG201", {"add_column"}),
        ("MG203", NAMED),
        ("MG204", {"drop_table", "drop_column"}),
    ):
        if kinds & wanted:
            return code
    return "MG205"
