"""Schema rules (MG201-MG205): two branches that collide in the database.

The branches compared are the two sides of the git range (what each added
since the merge base, whatever Alembic's graph makes of it), and the sibling
branches where Alembic branches meet (``schema_sides`` says which, and what is
left out where the graph is broken).  Each branch's readable operations are
folded into what they do to schema objects (``schema_effects``); two branches
that add, drop or alter the same object are findings.  A merge revision does
not make a conflict go away: both branches still run before it.

*Twins* are the same migration committed on both sides under two ids: only
when the two revisions' readable operations are equal and non-empty (and none
is opaque), or their normalised ``upgrade()`` code is identical and does
something readable.  Revisions that only do what cannot be read (helper calls,
``conn.execute(...)``, loops) are never twins; nor are revisions whose
operations all repeat harmlessly (the same alteration twice).
"""

from __future__ import annotations

from collections.abc import Iterator

from mergeguard.graph.scenario import MergeScenario, added_revisions
from mergeguard.model import Diagnostic, Location, Operation
from mergeguard.rules.catalogue import diagnostic
from mergeguard.rules.schema_effects import (
    NAMED,
    Effects,
    column_key,
    fold,
    name_key,
    same_namespace,
    show,
    table_key,
)
from mergeguard.rules.schema_sides import Branch, Change, branch_of, branch_pairs, history_pair

Found = tuple[str, Diagnostic]  # (the object it is about, the finding)


def schema_conflicts(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG201-MG205 for every pair of branches, each finding reported once."""
    seen: set[tuple[str, frozenset[str], str]] = set()
    pairs_seen: set[tuple[str, frozenset[str]]] = set()
    for one, other in branch_pairs(scenario, env):
        for about, item in _pair(one, other, env, scenario.sides[2].label):
            key = (item.code, frozenset(item.revisions), about)
            if key not in seen:
                seen.add(key)
                pairs_seen.add(key[:2])
                yield item
    for item in _following_history(scenario, env):
        if (item.code, frozenset(item.revisions)) not in pairs_seen:  # twins said it already
            pairs_seen.add((item.code, frozenset(item.revisions)))
            yield item


def _following_history(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """What ours creates again on top of recent history (``history_pair``):
    only what fails whatever the order, creating an object twice."""
    followed = history_pair(scenario, env)
    if followed is None:
        return
    ours, history = followed
    note = _confidence(ours, history)
    survivors = Effects(history).surviving()
    for _, item in _duplicates(Effects(ours), survivors, ours, history, env, note, set()):
        yield item


def _pair(one: Branch, other: Branch, env: str, ours: str) -> Iterator[Found]:
    """The findings between two branches, ours first where it is one of them."""
    if other.label == ours:
        one, other = other, one
    a, b = Effects(one), Effects(other)
    note = _confidence(one, other)
    twins = _same_migrations(one, other)
    for revs, code, message, location, elsewhere in twins:
        yield "twin", _finding(code, message + note, revs, env, location, elsewhere)
    skip = {r for pair in twins for r in pair[0]}
    yield from _duplicates(a, b, one, other, env, note, skip)
    yield from _drop_vs_change(a, b, one, other, env, note, skip)
    yield from _drop_vs_change(b, a, other, one, env, note, skip)
    yield from _conflicting_alters(a, b, one, other, env, note, skip)


_FAILS = {
    "MG201": 'fails with "duplicate column"',
    "MG202": 'fails with "table already exists"',
    "MG203": 'fails with "already exists"',
}
_HINTS = {
    "MG201": "keep the column in one branch only, or move it into the merge revision "
    "(as Alembic's branching docs advise)",
    "MG202": "keep the table in one branch only, or move it into the merge revision",
    "MG203": "rename one of them, or keep it in one branch only",
    "MG204": "reconcile the two changes in one branch, or in the merge revision, so that "
    "their order no longer matters",
    "MG205": "decide on one alteration and keep it in one branch only",
}


def _finding(
    code: str,
    message: str,
    revisions: tuple[str, ...],
    env: str,
    location: Location | None = None,
    other: Location | None = None,
) -> Diagnostic:
    """A schema finding at ``location``; ``other`` is the other side's place."""
    return diagnostic(
        code,
        message,
        location,
        hint=_HINTS[code],
        revisions=revisions,
        environment=env,
        related=(other,) if other is not None else (),
    )


def _duplicates(
    a: Effects, b: Effects, one: Branch, other: Branch, env: str, note: str, skip: set[str]
) -> Iterator[Found]:
    tables = a.tables.keys() & b.tables.keys()
    columns = {
        k: (a.columns[k].revision, b.columns[k].revision)
        for k in a.columns.keys() & b.columns.keys()
        if (k[0], k[1]) not in tables  # the table itself is the duplicate (MG202)
    }
    pairs: list[tuple[str, str, tuple[str, ...], Change, Change]] = [
        ("MG202", "table", k, a.tables[k], b.tables[k]) for k in tables
    ]
    pairs += [("MG201", "column", k, a.columns[k], b.columns[k]) for k in columns]
    for key in a.named.keys() & b.named.keys():
        found = [(x, y) for x in a.named[key] for y in b.named[key] if same_namespace(x.op, y.op)]
        if found and not _on_duplicated_columns(*found[0], columns):
            pairs.append(("MG203", "index, constraint or type", key, *found[0]))
    for code, what, key, first, second in pairs:
        if first.revision in skip or second.revision in skip:
            continue
        message = (
            f"both {one.label} and {other.label} add {what} {show(key)}: "
            f"{first.where} and {second.where}; whichever branch runs second "
            f"{_FAILS[code]} {show(key)}"
        )
        revisions = (first.revision, second.revision)
        yield (
            show(key),
            _finding(code, message + note, revisions, env, first.location, second.location),
        )


def _on_duplicated_columns(
    first: Change, second: Change, columns: dict[tuple[str, ...], tuple[str, str]]
) -> bool:
    """An index both branches put on a column both add (``index=True`` on the
    same new column) follows from that MG201: one finding, not two."""
    if not first.op.columns or first.op.kind != "create_index":
        return False
    pair = (first.revision, second.revision)
    return all(columns.get(column_key(first.op, c)) == pair for c in first.op.columns)


def _drop_vs_change(
    a: Effects, b: Effects, one: Branch, other: Branch, env: str, note: str, skip: set[str]
) -> Iterator[Found]:
    """MG204: ``one`` drops a table or column that ``other`` still uses."""
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
        yield (
            show(key),
            _finding("MG204", message + note, revisions, env, drop.location, use.location),
        )


def _conflicting_alters(
    a: Effects, b: Effects, one: Branch, other: Branch, env: str, note: str, skip: set[str]
) -> Iterator[Found]:
    """MG205: both branches alter one column to different states (or rename it)."""
    for key in a.alters.keys() & b.alters.keys():
        mine, theirs = a.alters[key], b.alters[key]
        first, second = mine.first, theirs.first
        if not mine.conflicts_with(theirs) or first.revision in skip or second.revision in skip:
            continue
        message = (
            f"both {one.label} and {other.label} alter column {show(key)}: {first.where} "
            f"({_describe(first.op)}) and {second.where} ({_describe(second.op)}); the second "
            "one fails or silently wins"
        )
        revisions = (first.revision, second.revision)
        yield (
            show(key),
            _finding("MG205", message + note, revisions, env, first.location, second.location),
        )


def _describe(op: Operation) -> str:
    return ", ".join(f"{k}={v}" for k, v in op.detail) or "no details"


# -- the same migration under two ids -------------------------------------------------


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


def _same_migrations(one: Branch, other: Branch) -> list[Twin]:
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


def _confidence(one: Branch, other: Branch) -> str:
    """A note on operations that could not be read (findings may be missing)."""
    opaque = one.opaque() + other.opaque()
    if not opaque:
        return ""
    first = opaque[0]
    return (
        f" (note: {len(opaque)} operation(s) on these branches could not be read "
        f"statically, e.g. {first.where}: {first.op.reason}; there may be more conflicts)"
    )


SUMMARY_LIMIT = 200


def summaries(scenario: MergeScenario, env: str) -> dict[str, list[str]]:
    """Per side, a short list of what its new revisions do to the schema
    (``+users.email``, ``-legacy``, ``~users.status``)."""
    found: dict[str, list[str]] = {}
    base, theirs, ours = scenario.sides
    for side in (ours, theirs):
        added = added_revisions(base, side, env)
        graph = side.graph(env)
        if not added or graph is None:
            continue
        if len(added) > SUMMARY_LIMIT:
            found[side.label] = [f"{len(added)} revisions (too many to summarise)"]
            continue
        branch = branch_of(side.label, side, added, graph.topological())
        items = Effects(branch).summary()
        if branch.opaque():
            items.append(f"{len(branch.opaque())} opaque")
        found[side.label] = items
    return found


def schema_changes(scenario: MergeScenario) -> dict[str, dict[str, list[str]]]:
    """Environment -> side label -> summary, for every environment with changes."""
    found = {env: summaries(scenario, env) for env in scenario.environments()}
    return {env: sides for env, sides in found.items() if any(sides.values())}
