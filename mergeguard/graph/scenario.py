"""The sides of one check: base, theirs, ours and what a merge would leave.

``check A..B`` compares ``ours`` (B, the side under review) with ``theirs``
(A, where it will land) from their merge base, and predicts ``merged``: the
files as ``git merge`` would leave them, three-way by path.  Without a range
the checked tree (working tree or index) is ``ours``; during a merge the
working tree is ``merged``.  Everything here is values over ``Snapshot``s: the
workspace (the edge) decides which refs and trees they are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import PurePosixPath

from mergeguard.git.snapshot import Snapshot
from mergeguard.graph.environments import EnvironmentRead
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.model import DatabaseReading, FileOperations, MigrationScript, field, frozen

OperationsLoader = Callable[[Sequence[MigrationScript]], dict[str, FileOperations]]

RANGE = "range"  # check A..B: ours = B, theirs = A
MERGE = "merge"  # a merge in progress: ours = HEAD, theirs = MERGE_HEAD, merged = the tree
TREE = "tree"  # no range: the tree itself, against a base when one is known
NO_OPERATIONS = FileOperations()


@frozen
class Side:
    """One snapshot read: its role, how the user named it, and its environments."""

    role: str
    label: str
    origin: str
    sha: str | None
    reads: Mapping[str, EnvironmentRead]
    memo: dict[str, dict[str, MigrationScript]] = field(
        default_factory=dict, compare=False, repr=False
    )
    load_operations: OperationsLoader | None = field(default=None, compare=False, repr=False)
    snapshot: Snapshot | None = field(default=None, compare=False, repr=False)
    # blob -> what its file does, read once (the same on every side: a blob is its bytes)
    read_operations: dict[str, FileOperations] = field(
        default_factory=dict, compare=False, repr=False
    )
    # what this side added to a base, per (base read, environment): see added_revisions
    added: dict[tuple[int, str], _Added] = field(default_factory=dict, compare=False, repr=False)

    @property
    def title(self) -> str:
        """How a finding names this side: its label, with the short commit id once."""
        if self.sha is None or self.sha[:7] in self.label:
            return self.label
        return f"{self.label} ({self.sha[:7]})"

    def operations(self, scripts: Sequence[MigrationScript]) -> dict[str, FileOperations]:
        """Revision id -> what its file does (read on demand: only the few
        revisions a check compares are parsed with libcst)."""
        if self.load_operations is None or not scripts:
            return {}
        known = self.read_operations
        missing = [s for s in scripts if s.blob not in known]
        if missing:
            by_blob = self.load_operations(missing)
            for script in missing:
                known[script.blob] = by_blob.get(script.blob, NO_OPERATIONS)
        return {script.revision: known[script.blob] for script in scripts}

    def graph(self, environment: str) -> RevisionGraph | None:
        read = self.reads.get(environment)
        return read.graph if read else None

    def scripts(self, environment: str) -> dict[str, MigrationScript]:
        """Revision id -> script of one environment (empty when it has none);
        memoized, without building the graph."""
        found = self.memo.get(environment)
        if found is None:
            read = self.reads.get(environment)
            found = self.memo[environment] = read.revisions if read else {}
        return found


@frozen
class PublishedRefs:
    """The refs ``[tool.mergeguard] published`` names (tags, release branches),
    each read as a Side only when a rule asks: most checks never need them."""

    refs: tuple[str, ...] = ()
    below_ours: frozenset[str] = frozenset()  # refs the checked commit descends from
    load: Callable[[str], Side] | None = field(default=None, compare=False, repr=False)
    memo: dict[str, Side] = field(default_factory=dict, compare=False, repr=False)

    def sides(self, *, below_ours: bool = False) -> Iterator[Side]:
        """The published refs read (only those ``ours`` descends from, if asked)."""
        for ref in self.refs:
            if below_ours and ref not in self.below_ours:
                continue
            side = self.side(ref)
            if side is not None:
                yield side

    def side(self, ref: str) -> Side | None:
        """One of the refs read (None when it is not listed or cannot be read)."""
        if ref not in self.refs:
            return None
        found = self.memo.get(ref)
        if found is None and self.load is not None:
            found = self.memo[ref] = self.load(ref)
        return found

    def find(self, env: str, revision: str) -> Iterator[tuple[Side, MigrationScript]]:
        """Each published ref holding ``revision``, with its script there."""
        for side in self.sides():
            script = side.scripts(env).get(revision)
            if script is not None:
                yield side, script


@frozen
class MergeScenario:
    """base / theirs / ours / merged of one check (see the module docstring).

    ``checked`` is the side whose tree is being judged: ``ours`` for a range
    and for a plain tree, ``merged`` during a merge.  ``touched`` are the files
    the checked side added or changed since ``base``; ``conflicts`` the files
    both sides changed differently (the merge takes ours and says so).

    A revision is *published* when ``theirs`` (the branch the work merges
    into) has it, or one of the ``published`` refs does: rewriting it would
    strand databases that applied it.  A revision only on the checked
    branch and its own remote copy is not published: rebasing it is normal.
    ``via_pre_commit`` is True when pre-commit runs the check: the
    ``mergeguard`` command then lives in the hook's own virtualenv, so hints
    name pre-commit's manual-stage fix hooks instead (set by the workspace,
    the edge that reads the environment; rules never do).
    """

    kind: str
    base: Side
    theirs: Side
    ours: Side
    merged: Side
    touched: frozenset[PurePosixPath] = frozenset()
    conflicts: tuple[PurePosixPath, ...] = ()
    has_base: bool = True
    published: PublishedRefs = field(default_factory=PublishedRefs)
    joined: tuple[Side, Side, Side] | None = None
    via_pre_commit: bool = False
    # what each configured deployed database has applied (read by the app, the
    # edge; empty when none is configured or with --no-databases): MG401, MG402
    databases: tuple[DatabaseReading, ...] = ()
    # the branches the readings name as holding a revision the checked sides
    # lack (``DatabaseReading.refs``), read as Sides only when MG401 asks
    database_refs: PublishedRefs = field(default_factory=PublishedRefs)

    @property
    def sides(self) -> tuple[Side, Side, Side]:
        """(merge base, theirs, ours) of the two lines of work being joined,
        whose additions the schema rules compare: the scenario's own, or, when
        ``ours`` is a merge commit of ``theirs`` (a pull request's merge ref),
        that merge's parents (``joined``)."""
        return self.joined or (self.base, self.theirs, self.ours)

    @property
    def checked(self) -> Side:
        return self.merged if self.kind == MERGE else self.ours

    @property
    def fast_forward(self) -> bool:
        """True when theirs is the merge base: merging changes nothing on their side."""
        return self.theirs.sha is not None and self.theirs.sha == self.base.sha

    def environments(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for side in (self.checked, self.ours, self.theirs, self.merged):
            names.update(dict.fromkeys(side.reads))
        return tuple(names)


@frozen
class _Added:
    """What one environment read added to another (kept with both reads, so
    the memo can never answer for other reads that got the same ids)."""

    base: EnvironmentRead | None
    side: EnvironmentRead | None
    revisions: dict[str, MigrationScript]


def added_revisions(base: Side, side: Side, environment: str) -> dict[str, MigrationScript]:
    """Revisions ``side`` has that ``base`` has not (the work of that side);
    a new dict each time, computed once per pair of reads (every rule asks)."""
    base_read, side_read = base.reads.get(environment), side.reads.get(environment)
    key = (id(base_read), environment)
    found = side.added.get(key)
    if found is None or found.base is not base_read or found.side is not side_read:
        before = base.scripts(environment)
        mine = side.scripts(environment)
        new = mine.keys() - before.keys()
        revisions = {r: s for r, s in mine.items() if r in new} if new else {}
        found = side.added[key] = _Added(base_read, side_read, revisions)
    return dict(found.revisions)


def deployed_side(scenario: MergeScenario) -> Side:
    """The tree that will be deployed: what the merge leaves where there is
    a merge to make (a merge in progress, or a range whose other side moved
    on), else the checked tree itself.  ``fix`` repairs it; MG401 asks
    whether the deployed databases' revisions are in it."""
    if scenario.kind == MERGE or (scenario.has_base and not scenario.fast_forward):
        return scenario.merged
    return scenario.checked


def published_on(
    scenario: MergeScenario,
    env: str,
    revision: str,
    key: Callable[[MigrationScript], object] | None = None,
    like: MigrationScript | None = None,
) -> str | None:
    """Where ``revision`` is published: the label of ``theirs`` or of the
    first ``published`` ref holding it (with ``key`` and ``like``: only in the
    form where ``key`` equals ``key(like)``), else None."""

    def accepted(script: MigrationScript) -> bool:
        return key is None or like is None or key(script) == key(like)

    script = scenario.theirs.scripts(env).get(revision)
    if script is not None and accepted(script):
        return scenario.theirs.label
    for side, found in scenario.published.find(env, revision):
        if accepted(found):
            return side.label
    return None


def published_revisions(scenario: MergeScenario, env: str) -> set[str]:
    """Every revision id published on ``theirs``, the merge base or a ``published`` ref."""
    ids = set(scenario.base.scripts(env)) | set(scenario.theirs.scripts(env))
    for side in scenario.published.sides():
        ids.update(side.scripts(env))
    return ids
