"""The deployed databases joined to a scenario: the readings (MG401-MG403,
``fix --rebase``'s refusal, ``fix --merge``'s report) and the branches they
name, read as Sides only when a rule asks."""

from __future__ import annotations

from dataclasses import replace

from mergeguard.app.workspace import Workspace
from mergeguard.errors import MergeguardError
from mergeguard.graph.scenario import MergeScenario, PublishedRefs, Side
from mergeguard.model import DatabaseReading

# the rules that read the databases: when the selection keeps none, none is read
DATABASE_RULES = ("MG401", "MG402", "MG403")


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
