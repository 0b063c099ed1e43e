"""The comparisons the schema rules (MG201-MG205) share, and how each of them
reports its findings.

The branches compared are the two sides of the git range (what each added
since the merge base, whatever Alembic's graph makes of it), and the sibling
branches where Alembic branches meet (``schema_sides`` says which, and what is
left out where the graph is broken).  Each branch's readable operations are
folded into what they do to schema objects (``schema_effects``); two branches
that add, drop or alter the same object are findings.  A merge revision does
not make a conflict go away: both branches still run before it.

A revision both branches have as a twin (``schema_twins``) is reported once,
as the twin, and left out of every rule's own comparison.  Each unit gives
``schema_findings`` the part that is its own: what it looks for in a ``Pair``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic, Location, frozen
from mergeguard.rules.schema_effects import Effects, Key, show
from mergeguard.rules.schema_sides import Branch, Change, branch_pairs, history_pair
from mergeguard.rules.schema_twins import Twin, same_migrations


@frozen
class Pair:
    """Two branches compared (ours first where it is one of them), their
    effects, the note on what could not be read, and their twins."""

    one: Branch
    other: Branch
    a: Effects
    b: Effects
    note: str
    twins: tuple[Twin, ...] = ()

    @property
    def skip(self) -> set[str]:
        """Revisions a twin finding already covers."""
        return {r for twin in self.twins for r in twin[0]}


@frozen
class Found:
    """One finding of a pair, before its code, hint and note are added;
    ``about`` names the object (a finding is reported once per object)."""

    about: str
    message: str
    revisions: tuple[str, ...]
    location: Location | None
    other: Location | None


PairCheck = Callable[[Pair], Iterator[Found]]
Comparisons = tuple[tuple[Pair, ...], Pair | None]

# The comparisons of the last (scenario, environment): each of the five units
# asks for them, and building them reads every branch's operations.  The
# scenario itself is kept, so an identity test cannot match a new object.
_last: list[tuple[MergeScenario, str, Comparisons]] = []


def comparisons(scenario: MergeScenario, env: str) -> Comparisons:
    """(every pair of branches, the pair of ours and the history it follows)."""
    if _last and _last[0][0] is scenario and _last[0][1] == env:
        return _last[0][2]
    ours = scenario.sides[2].label
    pairs = []
    for one, other in branch_pairs(scenario, env):
        if other.label == ours:
            one, other = other, one
        twins = tuple(same_migrations(one, other))
        pairs.append(Pair(one, other, Effects(one), Effects(other), confidence(one, other), twins))
    followed = history_pair(scenario, env)
    history = None
    if followed is not None:
        mine, below = followed
        survivors = Effects(below).surviving()
        history = Pair(mine, below, Effects(mine), survivors, confidence(mine, below))
    _last[:] = [(scenario, env, (tuple(pairs), history))]
    return tuple(pairs), history


def schema_findings(
    scenario: MergeScenario,
    env: str,
    code: Code,
    hint: str,
    check: PairCheck,
    *,
    history: bool = False,
) -> Iterator[Diagnostic]:
    """``code``'s findings: per pair its twins, then what ``check`` finds, each
    (revisions, object) once; with ``history``, then what ours creates again
    on top of the recent history it follows (``history_pair``: only what fails
    whatever the order, creating an object twice), unless a pair said it."""
    pairs, followed = comparisons(scenario, env)
    seen: set[tuple[frozenset[str], str]] = set()
    said: set[frozenset[str]] = set()
    for pair in pairs:
        twins = [
            Found("twin", message, revisions, location, other)
            for revisions, twin_code, message, location, other in pair.twins
            if twin_code == code.code
        ]
        for found in (*twins, *check(pair)):
            key = (frozenset(found.revisions), found.about)
            if key not in seen:
                seen.add(key)
                said.add(key[0])
                yield _finding(code, hint, found, pair.note, env)
    if history and followed is not None:
        for found in check(followed):
            if frozenset(found.revisions) not in said:  # twins said it already
                said.add(frozenset(found.revisions))
                yield _finding(code, hint, found, followed.note, env)


def _finding(code: Code, hint: str, found: Found, note: str, env: str) -> Diagnostic:
    """A schema finding at its place; ``related`` is the other side's place."""
    return diagnostic(
        code,
        found.message + note,
        found.location,
        hint=hint,
        revisions=found.revisions,
        environment=env,
        related=(found.other,) if found.other is not None else (),
    )


def duplicated_columns(a: Effects, b: Effects) -> dict[Key, tuple[str, str]]:
    """Columns both add, by the revisions that add them, unless the table
    itself is the duplicate (MG202)."""
    tables = a.tables.keys() & b.tables.keys()
    return {
        k: (a.columns[k].revision, b.columns[k].revision)
        for k in a.columns.keys() & b.columns.keys()
        if (k[0], k[1]) not in tables
    }


def duplicate(
    pair: Pair, what: str, key: Key, first: Change, second: Change, fails: str
) -> Iterator[Found]:
    """An object both branches create (none, if a twin covers either)."""
    skip = pair.skip
    if first.revision in skip or second.revision in skip:
        return
    message = (
        f"both {pair.one.label} and {pair.other.label} add {what} {show(key)}: "
        f"{first.where} and {second.where}; whichever branch runs second "
        f"{fails} {show(key)}"
    )
    revisions = (first.revision, second.revision)
    yield Found(show(key), message, revisions, first.location, second.location)


def confidence(one: Branch, other: Branch) -> str:
    """A note on operations that could not be read (findings may be missing)."""
    opaque = one.opaque() + other.opaque()
    if not opaque:
        return ""
    first = opaque[0]
    return (
        f" (note: {len(opaque)} operation(s) on these branches could not be read "
        f"statically, e.g. {first.where}: {first.op.reason}; there may be more conflicts)"
    )
