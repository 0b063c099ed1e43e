"""The deployed databases of a run: which to read, reading them, and the
branches that hold a revision a database is stranded on.

``read_deployed`` is the one entry point (``status`` and ``check`` call it):
settings -> targets (``databases.targets``) -> readings (``databases.reading``,
read only) -> for each row the given environments lack, the branches whose
history has it, read statically through the workspace's cached environment
reads (``refs/heads/*``, ``refs/remotes/*``; each tree read once; at most
``MAX_REFS`` branches, the most recent first, with a note when capped).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from mergeguard.app.workspace import Workspace
from mergeguard.config.discovery import read_settings
from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import Snapshot
from mergeguard.graph.environments import EnvironmentRead
from mergeguard.model import DatabaseReading, DatabaseSetting

MAX_REFS = 200  # branches searched for a stranded revision

Warn = Callable[[str], None]


def _ignore(_: str) -> None:
    """The default ``warn``: notes dropped."""


def database_settings(
    workspace: Workspace, urls: Sequence[str] = (), *, staged: bool = False
) -> tuple[DatabaseSetting, ...]:
    """The databases to read: ``--url`` values (named url1, url2...) when
    given, else ``[tool.mergeguard.databases]`` of the work tree's (``staged``:
    the index's) pyproject.toml.  A malformed table raises MergeguardError
    naming the key (unlike ``Workspace.settings``, which falls back to the
    defaults: a typo must not silently read no database)."""
    if urls:
        from mergeguard.databases.targets import url_settings

        return url_settings(urls)
    return read_settings(workspace.snapshot(staged=staged)).databases


def read_deployed(
    workspace: Workspace,
    snapshot: Snapshot,
    reads: Mapping[str, EnvironmentRead],
    settings: Sequence[DatabaseSetting],
    *,
    timeout: float | None = None,
    from_command_line: bool = False,
    warn: Warn = _ignore,
) -> tuple[DatabaseReading, ...]:
    """Each database of ``settings`` read (read only), in order.

    A relative SQLite path is read as Alembic run from the project root reads
    it: from the work tree root, where the pyproject.toml naming it is (the
    directory mergeguard runs in when ``from_command_line``: a ``--url`` the
    user typed there).

    ``reads`` are the environments (by name) of ``snapshot``, the tree whose
    configuration the databases follow: a setting's ``environment`` names
    one of them, and its env.py (read from ``snapshot``, never run) names
    the version table.  ``refs`` of a reading are filled for each current
    revision that ``reads[environment].graph`` lacks.  An unreachable
    database is a reading with ``error``; only a setting naming no usable
    environment raises (MergeguardError, exit 3).
    """
    if not settings:
        return ()
    from mergeguard.databases.reading import read_databases
    from mergeguard.databases.targets import resolve_targets

    environments = [read.environment for read in reads.values()]
    root = workspace.repo.work_tree
    base_dir = workspace.options.directory if from_command_line or root is None else root
    targets = resolve_targets(settings, environments, snapshot.read, base_dir=base_dir)
    readings = read_databases(targets, timeout)
    search = RefSearch(workspace, warn)
    return tuple(_with_refs(reading, reads, search) for reading in readings)


def _with_refs(
    reading: DatabaseReading, reads: Mapping[str, EnvironmentRead], search: RefSearch
) -> DatabaseReading:
    read = reads.get(reading.environment)
    if read is None or not reading.current:
        return reading
    known = read.revisions
    lacking = [revision for revision in reading.current if revision not in known]
    if not lacking:
        return reading
    refs = tuple((revision, search.holding(reading.environment, revision)) for revision in lacking)
    return replace(reading, refs=refs)


class RefSearch:
    """The branches holding a revision, each branch tree's environments read
    once (through the workspace's cache) for every question of the run.
    ``read_deployed`` asks it about the rows a history lacks; a rule's edge
    may ask about others (MG402: where an applied revision's older version is)."""

    def __init__(self, workspace: Workspace, warn: Warn) -> None:
        self.workspace = workspace
        self.warn = warn
        self._trees: list[tuple[str, frozenset[tuple[str, str]]]] | None = None

    def holding(self, environment: str, revision: str) -> tuple[str, ...]:
        """Short names (``feature-x``, ``origin/feature-x``) of the branches
        whose ``environment`` has ``revision``, sorted."""
        found = [name for name, revisions in self.trees() if (environment, revision) in revisions]
        return tuple(sorted(found))

    def trees(self) -> list[tuple[str, frozenset[tuple[str, str]]]]:
        if self._trees is None:
            self._trees = self._read_trees()
        return self._trees

    def _read_trees(self) -> list[tuple[str, frozenset[tuple[str, str]]]]:
        repo = self.workspace.repo
        tips = repo.branch_tips()
        if len(tips) > MAX_REFS:
            self.warn(
                f"note: searched the {MAX_REFS} most recently committed of {len(tips):,} "
                "branches for the revisions a database is stranded on"
            )
            tips = tips[:MAX_REFS]
        by_tree: dict[str, frozenset[tuple[str, str]]] = {}
        found: list[tuple[str, frozenset[tuple[str, str]]]] = []
        for ref, commit, tree in tips:
            if tree not in by_tree:
                by_tree[tree] = self._revisions_at(commit)
            found.append((repo.short_name(ref), by_tree[tree]))
        return found

    def _revisions_at(self, commit: str) -> frozenset[tuple[str, str]]:
        """(environment, revision) of every migration the commit's tree holds,
        read statically; nothing when it has no readable configuration."""
        try:
            reads = self.workspace.read(self.workspace.repo.tree(commit))
        except MergeguardError:
            return frozenset()
        return frozenset(
            (read.environment.name, script.revision) for read in reads for script in read.scripts
        )
