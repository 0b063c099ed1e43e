"""Which revisions the schema rules (MG2xx) compare with which.

*Between the sides of the git range.*  ``theirs`` and ``ours`` each added
revisions since the merge base (``added_revisions``; when ``ours`` is a merge
commit of ``theirs``, as GitHub's ``refs/pull/N/merge``, that merge's own
parents: ``MergeScenario.sides``); what one side added is
compared with what the other added, whatever Alembic's graph makes of them: a
rebase that re-points one side's revision onto the other's makes the two
linear, but both still run their change.  A revision both sides have (the same
id: a cherry-pick, a squash merge, a side that already merged the other) is
shared, not added twice, and never conflicts with itself.

*Where Alembic branches meet in the graph the merge leaves.*  A side may
itself hold two branches (a three-way fork), and a merge revision the range
adds joins branches that may both be older than the range (a merge revision
does not make their conflict go away).  These meetings are compared branch by
branch as before; historic merge points are left alone.

*Where the graph is broken.*  A revision whose place is undefined in the graph
the merge leaves (a duplicated id, MG003; a cycle, MG005; a missing parent,
MG004) is left out: which of two files Alembic runs, or when, is unknown, and
the integrity finding is the root cause.  A meeting whose branches reach such a
revision is not compared at all: its "exclusive revisions" would be whole
stretches of history, each a follow-on finding.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import combinations

from mergeguard.graph.queries import (
    exclusive_ancestries,
    joined_side,
    meeting_tips,
    nearest_ancestors,
)
from mergeguard.graph.scenario import MergeScenario, Side, added_revisions
from mergeguard.model import Location, MigrationScript, Operation, frozen

UNDEFINED_PLACE = frozenset({"MG003", "MG004", "MG005"})


@frozen
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


@frozen
class Branch:
    """The revisions one side of a comparison has, in upgrade order, with
    their operations and upgrade digests (revision -> digest)."""

    label: str
    revisions: tuple[str, ...]
    changes: tuple[Change, ...]
    digests: tuple[tuple[str, str], ...] = ()

    def opaque(self) -> list[Change]:
        return [c for c in self.changes if c.op.opaque]

    def digest(self, revision: str) -> str:
        return next((d for r, d in self.digests if r == revision), "")


def undefined_revisions(side: Side, env: str) -> set[str]:
    """Revisions whose place in ``side``'s graph is undefined (MG003-MG005)."""
    read = side.reads.get(env)
    if read is None:
        return set()
    return {r for d in read.diagnostics if d.code in UNDEFINED_PLACE for r in d.revisions}


# -- where Alembic branches meet ---------------------------------------------------------


def _meeting_branches(scenario: MergeScenario, env: str) -> list[list[set[str]]]:
    """The exclusive revisions of each branch, per meeting whose branches are
    well defined (none of them reaches a revision with an undefined place)."""
    graph = joined_side(scenario).graph(env)
    if graph is None:
        return []
    undefined = undefined_revisions(joined_side(scenario), env)
    found = []
    for _, tips, _ in meeting_tips(scenario, env):
        if undefined and graph.ancestors(tips, dependencies=False) & undefined:
            continue
        found.append(exclusive_ancestries(graph, tips))
    return found


# -- building branches ------------------------------------------------------------------


def branch_of(
    label: str,
    side: Side,
    scripts: Mapping[str, MigrationScript],
    position: Mapping[str, int],
) -> Branch:
    """A branch of ``scripts`` (read from ``side``) in upgrade order (``position``:
    revision -> its index in a topological order); revisions ``position``
    does not list come last, in ``scripts``' order."""
    ordered = sorted((r for r in scripts if r in position), key=position.__getitem__)
    ordered += [r for r in scripts if r not in position]
    files = side.operations([scripts[r] for r in ordered])
    changes = tuple(
        Change(revision, scripts[revision], op)
        for revision in ordered
        if revision in files
        for op in files[revision].operations
    )
    digests = tuple((r, files[r].upgrade_digest) for r in ordered if r in files)
    return Branch(label, tuple(ordered), changes, digests)


def _label(
    scenario: MergeScenario, env: str, revisions: set[str], position: Mapping[str, int]
) -> str:
    base, theirs_side, ours_side = scenario.sides
    ours = set(added_revisions(base, ours_side, env))
    theirs = set(added_revisions(base, theirs_side, env))
    if revisions & ours and not revisions & theirs:
        return ours_side.label
    if revisions & theirs:
        return theirs_side.label
    placed = [r for r in revisions if r in position]
    if not placed:
        return "an empty branch"
    return f"the branch of {max(placed, key=position.__getitem__)}"


def _sides(scenario: MergeScenario, env: str) -> tuple[Branch, Branch] | None:
    """(ours, theirs): what each side of the range added and the other has not
    (the sides of the merge commit when the range's right side is one of its
    left side, ``MergeScenario.sides``)."""
    if not scenario.has_base:
        return None
    base, theirs_side, ours_side = scenario.sides
    ours = added_revisions(base, ours_side, env)
    theirs = added_revisions(base, theirs_side, env)
    if not ours or not theirs:
        return None
    joined = joined_side(scenario)
    left_out = undefined_revisions(joined, env) | (ours.keys() & theirs.keys())
    graph = joined.graph(env)
    position = graph.position() if graph is not None else {}

    def only(scripts: dict[str, MigrationScript]) -> dict[str, MigrationScript]:
        return {r: s for r, s in scripts.items() if r not in left_out}

    return (
        branch_of(ours_side.label, ours_side, only(ours), position),
        branch_of(theirs_side.label, theirs_side, only(theirs), position),
    )


HISTORY_DEPTH = 30  # the nearest ancestors compared with a branch that follows them


def history_pair(scenario: MergeScenario, env: str) -> tuple[Branch, Branch] | None:
    """(ours, the history its revisions follow) when the other side added
    nothing since the merge base: after ``git rebase`` onto the target the
    target's work is in the merge base, yet a revision of ours that adds what
    a recent ancestor already added still fails.  Only the ``HISTORY_DEPTH``
    nearest ancestors are read (a rebase meets recent history; the whole
    history would cost a parse of every file on a cold cache)."""
    if not scenario.has_base:
        return None
    base, theirs_side, ours_side = scenario.sides
    ours = added_revisions(base, ours_side, env)
    graph = ours_side.graph(env)
    if not ours or graph is None or added_revisions(base, theirs_side, env):
        return None
    undefined = undefined_revisions(ours_side, env)
    mine = [r for r in ours if r in graph and r not in undefined]
    nearest = nearest_ancestors(graph, mine, HISTORY_DEPTH, skip=undefined)
    if not mine or not nearest:
        return None
    label = f"{theirs_side.label} (the history {ours_side.label} follows)"
    return (
        branch_of(ours_side.label, ours_side, {r: ours[r] for r in mine}, graph.position()),
        branch_of(label, ours_side, {r: graph.script(r) for r in nearest}, graph.position()),
    )


def branch_pairs(scenario: MergeScenario, env: str) -> Iterator[tuple[Branch, Branch]]:
    """Every pair of branches to compare: the two sides of the range, then
    each pair of sibling branches where Alembic branches meet (a three-way
    fork gives three).  The same pair of revisions may come twice: the rules
    report each finding once."""
    sides = _sides(scenario, env)
    if sides is not None and all(b.revisions for b in sides):
        yield sides
    joined = joined_side(scenario)
    graph = joined.graph(env)
    if graph is None:
        return
    undefined = undefined_revisions(joined, env)
    position = graph.position()
    for exclusive in _meeting_branches(scenario, env):
        branches = [
            branch_of(
                _label(scenario, env, revisions, position),
                joined,
                {r: graph.script(r) for r in revisions if r not in undefined},
                position,
            )
            for revisions in exclusive
            if revisions - undefined
        ]
        yield from combinations(branches, 2)
