"""MG204 drop-vs-change: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic
from mergeguard.rules.rule import Rule
from mergeguard.rules.schema_effects import Effects, show
from mergeguard.rules.schema_pairs import (
    Found,
    Pair,
    schema_findings,
)
from mergeguard.rules.schema_sides import Branch

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG204",
    "drop-vs-change",
    "error",
    "one branch drops a table or column that the other adds to, alters, renames or indexes",
)
HINT = (
    "reconcile the two changes in one branch, or in the merge revision, so that "
    "their order no longer matters"
)


def drop_vs_change(pair: Pair) -> Iterator[Found]:
    """Either branch drops what the other uses."""
    yield from _drops(pair.a, pair.b, pair.one, pair.other, pair.skip)
    yield from _drops(pair.b, pair.a, pair.other, pair.one, pair.skip)


def _drops(a: Effects, b: Effects, one: Branch, other: Branch, skip: set[str]) -> Iterator[Found]:
    """``one`` drops a table or column that ``other`` still uses."""
    pairs = [(k, c, b.table_uses.get(k)) for k, c in a.dropped_tables.items()]
    pairs += [
        (k, c, b.column_uses.get(k) or (b.alters[k].first if k in b.alters else None))
        for k, c in a.dropped_columns.items()
    ]
    for key, drop, use in pairs:
        if use is None or drop.revision in skip or use.revision in skip:
            continue
        thing = "table" if len(key) == 2 else "column"
        message = (
            f"{one.label} drops {thing} {show(key)} ({drop.where}) while {other.label} "
            f"uses it ({use.op.kind} in {use.where}): one order of the branches fails"
        )
        revisions = (drop.revision, use.revision)
        yield Found(show(key), message, revisions, drop.location, use.location)


def check(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG204 for every pair of branches."""
    return schema_findings(scenario, env, CODE, HINT, drop_vs_change)


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import ADD_EMAIL, INDEX_NAME, LINE, Example, Rev

    return (
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
    )


RULE = Rule(
    CODE,
    what=(
        "One side drops a table or column that the other adds to, alters, renames or "
        "indexes (a column dropped and re-added on the same side is not a drop)."
    ),
    why="The result depends on the order the sides run in, and one order fails.",
    fix="Reconcile the two changes in one branch, or in the merge revision.",
    build_examples=_examples,
    check=check,
)
