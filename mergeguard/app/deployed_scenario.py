"""The deployed databases joined to a scenario: what ``check`` (MG401-MG403,
the Markdown table), ``fix`` (the rebase refusal, the merge report) and
``graph --format mermaid`` know of them.

The databases are those of ``[tool.mergeguard.databases]`` in the work tree
(the index under pre-commit or ``--staged``), read by ``app.deployed`` (read
only, each within its timeout) with the history to be deployed as the one
whose configuration they follow; the branches a reading names are read as
Sides only when a rule asks.  Nothing here runs without databases
configured: a check without them imports no database library.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from mergeguard.app.workspace import Workspace
from mergeguard.config.discovery import read_settings
from mergeguard.errors import MergeguardError
from mergeguard.graph.environments import EnvironmentRead
from mergeguard.graph.scenario import MergeScenario, PublishedRefs, Side, deployed_side
from mergeguard.model import DatabaseReading, DatabaseStatus, replace

# the rules that read the databases: when the selection keeps none, none is read
DATABASE_RULES = ("MG401", "MG402", "MG403")

Warn = Callable[[str], None]


def _ignore(_: str) -> None:
    """The default ``warn``: notes dropped."""


def attach_databases(
    workspace: Workspace, scenario: MergeScenario, *, staged: bool = False, warn: Warn = _ignore
) -> MergeScenario:
    """``scenario`` with the configured databases read (none configured: as is)."""
    side = deployed_side(scenario)
    readings = read_databases(workspace, side, staged=staged, warn=warn)
    return with_databases(workspace, scenario, readings) if readings else scenario


def read_databases(
    workspace: Workspace, side: Side, *, staged: bool = False, warn: Warn = _ignore
) -> tuple[DatabaseReading, ...]:
    """The configured databases read against ``side`` (its environments, and
    its env.py for the version table); () when none is configured."""
    # the settings as app.deployed.database_settings reads them without --url (a
    # malformed table raises), without importing the database room for nothing
    settings = read_settings(workspace.snapshot(staged=staged)).databases
    if not settings:
        return ()
    from mergeguard.app.deployed import read_deployed

    snapshot = side.snapshot or workspace.snapshot(staged=staged)
    return read_deployed(workspace, snapshot, side.reads, settings, warn=warn)


def with_databases(
    workspace: Workspace, scenario: MergeScenario, readings: tuple[DatabaseReading, ...]
) -> MergeScenario:
    """``scenario`` with ``readings`` and a loader for the refs they name."""
    named = (ref for reading in readings for _, held in reading.refs for ref in held)
    refs = tuple(dict.fromkeys(named))

    def load(ref: str) -> Side:
        repo = workspace.repo
        try:
            return workspace.side("ref", ref, repo.tree(ref), repo.resolve(ref), required=False)
        except MergeguardError:  # the ref went away since it was searched: it holds nothing
            return Side("ref", ref, ref, None, {})

    return replace(scenario, databases=readings, database_refs=PublishedRefs(refs, load=load))


def statuses(
    readings: tuple[DatabaseReading, ...], reads: Mapping[str, EnvironmentRead]
) -> tuple[DatabaseStatus, ...]:
    """Each reading judged against the graph of its environment in ``reads``
    (the history to be deployed); readings of an environment it lacks are left out."""
    from mergeguard.graph.deployed import classify

    found = []
    for reading in readings:
        read = reads.get(reading.environment)
        if read is not None:
            found.append(classify(read.graph, reading))
    return tuple(found)
