"""Schema rules (MG2xx): sibling branches that collide in the database.

Where branches of the history meet (the heads a merge would leave, and every
merge revision the range adds) each branch's own revisions are folded, in
upgrade order, into what they do to schema objects keyed by (schema, table,
name) with unquoted identifiers case-folded as databases do; two branches
that add, drop or alter the same object are findings.  A merge revision does
not make a conflict go away: both branches still run before it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations

from mergeguard.graph import RevisionGraph
from mergeguard.model import Diagnostic, Location, MigrationScript, Operation
from mergeguard.rules.catalogue import diagnostic
from mergeguard.rules.topology import conflict_groups
from mergeguard.scenario import TREE, MergeScenario, Side, added_revisions

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


@dataclass(frozen=True, slots=True)
class Change:
    """One operation of one revision on one branch."""

    revision: str
    script: MigrationScript
    op: Operation

    @property
    def where(self) -> str:
        return f"{self.revision} ({self.script.path}:{self.op.span.line})"

    @property
    def location(self) -> Location:
        return Location(self.script.path, self.op.span.line, self.op.span.column)


@dataclass(frozen=True, slots=True)
class Branch:
    """The revisions only one side of a meeting point has, in upgrade order."""

    label: str
    revisions: tuple[str, ...]
    changes: tuple[Change, ...]

    def opaque(self) -> list[Change]:
        return [c for c in self.changes if c.op.opaque]


def _fold(name: str | None) -> str:
    return (name or "").lower()


def _table(op: Operation) -> tuple[str, str]:
    return (_fold(op.schema), _fold(op.table))


def _column(op: Operation, column: str | None = None) -> tuple[str, str, str]:
    return (_fold(op.schema), _fold(op.table), _fold(column if column is not None else op.name))


def _show(key: tuple[str, ...]) -> str:
    return ".".join(part for part in key if part)


# -- what a branch does ----------------------------------------------------------------


class Effects:
    """A branch's operations indexed by the objects they create, drop or change."""

    def __init__(self, branch: Branch) -> None:
        self.tables: dict[tuple[str, ...], Change] = {}
        self.columns: dict[tuple[str, ...], Change] = {}
        self.named: dict[tuple[str, ...], Change] = {}
        self.dropped_tables: dict[tuple[str, ...], Change] = {}
        self.dropped_columns: dict[tuple[str, ...], Change] = {}
        self.alters: dict[tuple[str, ...], Change] = {}
        self.table_uses: dict[tuple[str, ...], Change] = {}
        self.column_uses: dict[tuple[str, ...], Change] = {}
        for change in branch.changes:
            if not change.op.opaque and change.op.function == "upgrade":
                self.add(change)

    def add(self, change: Change) -> None:
        op = change.op
        if op.kind == "create_table":
            self.tables.setdefault(_table(op), change)
        elif op.kind == "rename_table":
            self.tables.setdefault((_fold(op.schema), _fold(op.name)), change)
        elif op.kind == "add_column":
            self.columns.setdefault(_column(op), change)
        elif op.kind == "drop_table":
            self.dropped_tables.setdefault(_table(op), change)
        elif op.kind == "drop_column":
            self.dropped_columns.setdefault(_column(op), change)
        elif op.kind == "alter_column":
            self.alters.setdefault(_column(op), change)
        if op.kind in NAMED and op.name:
            self.named.setdefault((_fold(op.schema), _fold(op.name)), change)
        self.uses(change)

    def uses(self, change: Change) -> None:
        """Tables and columns the operation depends on (for MG204)."""
        op = change.op
        if op.kind in TOUCHES_TABLE and op.table:
            self.table_uses.setdefault(_table(op), change)
        referent = op.get("referent")
        if referent:
            self.table_uses.setdefault((_fold(op.schema), _fold(referent)), change)
        if op.kind in ("alter_column", "drop_column"):
            self.column_uses.setdefault(_column(op), change)
        for column in op.columns if op.kind != "create_table" else ():
            self.column_uses.setdefault(_column(op, column), change)

    def summary(self) -> list[str]:
        """``+users.email``, ``+ix_users_email``, ``-legacy``, ``~users.status``."""
        items = [f"+{_show(k)}" for k in self.tables] + [f"+{_show(k)}" for k in self.columns]
        items += [f"+{_show(k)}" for k in self.named]
        items += [f"-{_show(k)}" for k in (*self.dropped_tables, *self.dropped_columns)]
        items += [f"~{_show(k)}" for k in self.alters]
        return items


# -- where branches meet ---------------------------------------------------------------


def _meeting_graph(scenario: MergeScenario, env: str) -> tuple[Side, RevisionGraph | None]:
    side = scenario.merged if scenario.has_base else scenario.checked
    return side, side.graph(env)


def _exclusive(graph: RevisionGraph, tips: Sequence[str]) -> list[set[str]]:
    ancestries = [graph.ancestors([tip], dependencies=False) for tip in tips]
    return [
        ancestry.difference(*(other for j, other in enumerate(ancestries) if j != i))
        for i, ancestry in enumerate(ancestries)
    ]


def meeting_tips(
    scenario: MergeScenario, env: str
) -> list[tuple[str, tuple[str, ...], str | None]]:
    """(what meets, the tips of the branches, the merge revision or None) for
    every place the range makes branches meet: heads a merge leaves, and merge
    revisions the range adds.  Historic merge points are left alone."""
    side, graph = _meeting_graph(scenario, env)
    if graph is None:
        return []
    in_range = set(added_revisions(scenario.base, side, env))
    found: list[tuple[str, tuple[str, ...], str | None]] = []
    every_head_group = scenario.kind == TREE and not scenario.has_base  # a tree on its own
    for heads in conflict_groups(graph).values():
        branches = _exclusive(graph, heads)
        if every_head_group or any(b & in_range for b in branches):
            found.append((f"heads {', '.join(heads)}", heads, None))
    for merge in graph.merge_points:
        parents = tuple(p for p in graph.script(merge).down_revisions if p in graph)
        if merge in in_range and len(parents) > 1:
            found.append((f"merge revision {merge}", parents, merge))
    return found


def meeting_points(scenario: MergeScenario, env: str) -> list[tuple[str, list[set[str]]]]:
    """(what meets, the exclusive revisions of each branch) per meeting."""
    _, graph = _meeting_graph(scenario, env)
    if graph is None:
        return []
    return [(title, _exclusive(graph, tips)) for title, tips, _ in meeting_tips(scenario, env)]


def _branch(
    scenario: MergeScenario, side: Side, graph: RevisionGraph, env: str, revisions: set[str]
) -> Branch:
    order = tuple(r for r in graph.topological() if r in revisions)
    scripts = [graph.script(r) for r in order]
    operations = side.operations(scripts)
    changes = tuple(
        Change(revision, graph.script(revision), op)
        for revision in order
        for op in operations.get(revision, ())
    )
    ours = set(added_revisions(scenario.base, scenario.ours, env))
    theirs = set(added_revisions(scenario.base, scenario.theirs, env))
    if revisions & ours and not revisions & theirs:
        label = scenario.ours.label
    elif revisions & theirs:
        label = scenario.theirs.label
    else:
        label = f"the branch of {order[-1]}" if order else "an empty branch"
    return Branch(label, order, changes)


def branches_at(scenario: MergeScenario, env: str) -> Iterator[tuple[Branch, Branch]]:
    """Every pair of sibling branches to compare (a three-way fork gives three)."""
    side, graph = _meeting_graph(scenario, env)
    if graph is None:
        return
    for _, exclusive in meeting_points(scenario, env):
        branches = [_branch(scenario, side, graph, env, revs) for revs in exclusive if revs]
        yield from combinations(branches, 2)


# -- the rules -------------------------------------------------------------------------


def schema_conflicts(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG201-MG205 for every pair of sibling branches, each reported once."""
    seen: set[tuple[str, frozenset[str], str]] = set()
    for one, other in branches_at(scenario, env):
        for item in _pair(one, other, env, scenario.ours.label):
            key = (item.code, frozenset(item.revisions), item.message.split(":")[0])
            if key not in seen:
                seen.add(key)
                yield item


def _pair(one: Branch, other: Branch, env: str, ours: str) -> Iterator[Diagnostic]:
    """The findings between two sibling branches, ours first where it is one of them."""
    if other.label == ours:
        one, other = other, one
    a, b = Effects(one), Effects(other)
    note = _confidence(one, other)
    twins = _same_migrations(one, other)
    for revs, message, location, elsewhere in twins:
        yield _finding(_twin_code(a, b), message + note, revs, env, location, elsewhere)
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
) -> Iterator[Diagnostic]:
    for code, what, mine, theirs in (
        ("MG202", "table", a.tables, b.tables),
        ("MG201", "column", a.columns, b.columns),
        ("MG203", "index, constraint or type", a.named, b.named),
    ):
        for key in mine.keys() & theirs.keys():
            first, second = mine[key], theirs[key]
            if first.revision in skip or second.revision in skip:
                continue
            if code == "MG201" and (key[0], key[1]) in a.tables.keys() & b.tables.keys():
                continue  # the table itself is the duplicate (MG202)
            message = (
                f"both {one.label} and {other.label} add {what} {_show(key)}: "
                f"{first.where} and {second.where}; whichever branch runs second "
                f"{_FAILS[code]} {_show(key)}"
            )
            yield _finding(
                code,
                message + note,
                (first.revision, second.revision),
                env,
                first.location,
                second.location,
            )


def _drop_vs_change(
    a: Effects, b: Effects, one: Branch, other: Branch, env: str, note: str, skip: set[str]
) -> Iterator[Diagnostic]:
    """MG204: ``one`` drops a table or column that ``other`` still uses."""
    pairs = [(k, c, b.table_uses.get(k)) for k, c in a.dropped_tables.items()]
    pairs += [(k, c, b.column_uses.get(k) or b.alters.get(k)) for k, c in a.dropped_columns.items()]
    for key, drop, use in pairs:
        if use is None or drop.revision in skip or use.revision in skip:
            continue
        thing = "table" if len(key) == 2 else "column"
        message = (
            f"{one.label} drops {thing} {_show(key)} ({drop.where}) while {other.label} "
            f"uses it ({use.op.kind} in {use.where}): one order of the branches fails"
        )
        yield _finding(
            "MG204", message + note, (drop.revision, use.revision), env, drop.location, use.location
        )


def _conflicting_alters(
    a: Effects, b: Effects, one: Branch, other: Branch, env: str, note: str, skip: set[str]
) -> Iterator[Diagnostic]:
    for key in a.alters.keys() & b.alters.keys():
        first, second = a.alters[key], b.alters[key]
        renamed = first.op.get("new_column_name") and second.op.get("new_column_name")
        if (first.op.detail == second.op.detail and not renamed) or first.revision in skip:
            continue
        message = (
            f"both {one.label} and {other.label} alter column {_show(key)}: {first.where} "
            f"({_describe(first.op)}) and {second.where} ({_describe(second.op)}); the second "
            "one fails or silently wins"
        )
        yield _finding(
            "MG205",
            message + note,
            (first.revision, second.revision),
            env,
            first.location,
            second.location,
        )


def _describe(op: Operation) -> str:
    return ", ".join(f"{k}={v}" for k, v in op.detail) or "no details"


def _signature(changes: Sequence[Change]) -> tuple[object, ...]:
    return tuple(
        (
            c.op.kind,
            _fold(c.op.table),
            _fold(c.op.name),
            _fold(c.op.schema),
            c.op.columns,
            c.op.detail,
        )
        for c in changes
        if c.op.function == "upgrade"
    )


Twin = tuple[tuple[str, ...], str, Location, Location]


def _same_migrations(one: Branch, other: Branch) -> list[Twin]:
    """Revisions whose upgrade() is the same on both branches under two ids."""
    found: list[Twin] = []
    mine = {r: [c for c in one.changes if c.revision == r] for r in one.revisions}
    theirs = {r: [c for c in other.changes if c.revision == r] for r in other.revisions}
    for rev_a, changes_a in mine.items():
        for rev_b, changes_b in theirs.items():
            sig = _signature(changes_a)
            if sig and sig == _signature(changes_b) and rev_a != rev_b:
                a, b = changes_a[0], changes_b[0]
                objects = ", ".join(_object(c.op) for c in changes_a if c.op.function == "upgrade")
                message = (
                    f"the same migration is on both branches under two ids ({objects}): "
                    f"{a.where} on {one.label} and {b.where} on {other.label}; whichever runs "
                    "second fails as soon as it repeats the first's changes"
                )
                found.append(((rev_a, rev_b), message, a.location, b.location))
    return found


def _object(op: Operation) -> str:
    """``add_column users.email``: what an operation does to which object."""
    if op.kind in ("add_column", "drop_column", "alter_column"):
        key: tuple[str, ...] = _column(op)
    elif op.kind in NAMED:
        key = (_fold(op.schema), _fold(op.name))
    else:
        key = _table(op)
    return f"{op.kind} {_show(key)}"


def _twin_code(a: Effects, b: Effects) -> str:
    if a.tables.keys() & b.tables.keys():
        return "MG202"
    if a.columns.keys() & b.columns.keys():
        return "MG201"
    return "MG203" if a.named.keys() & b.named.keys() else "MG205"


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
    for side in (scenario.ours, scenario.theirs):
        added = added_revisions(scenario.base, side, env)
        graph = side.graph(env)
        if not added or graph is None:
            continue
        if len(added) > SUMMARY_LIMIT:
            found[side.label] = [f"{len(added)} revisions (too many to summarise)"]
            continue
        branch = _branch(scenario, side, graph, env, set(added))
        items = Effects(branch).summary()
        if branch.opaque():
            items.append(f"{len(branch.opaque())} opaque")
        found[side.label] = items
    return found


def schema_changes(scenario: MergeScenario) -> dict[str, dict[str, list[str]]]:
    """Environment -> side label -> summary, for every environment with changes."""
    found = {env: summaries(scenario, env) for env in scenario.environments()}
    return {env: sides for env, sides in found.items() if any(sides.values())}
