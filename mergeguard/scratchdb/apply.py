"""``mergeguard apply``: prove the branch model on a scratch database.

The tree under test (a ref, the merge a range predicts, or the working tree)
is written into a temporary directory; a scratch database is created (and
dropped at the end, whatever happens); a worker subprocess, the only process
that imports migrations, runs every path of ``paths`` with Alembic's own
machinery (``invoke`` speaks to it in ``protocol``'s documents); ``judge``
turns its results into MG301-MG304.  The user's
working tree and databases are never touched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import ROOT, Snapshot
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import MergeScenario, Side
from mergeguard.model import Diagnostic
from mergeguard.rules.schema import meeting_tips
from mergeguard.scratchdb.invoke import Limits, run_paths
from mergeguard.scratchdb.judge import heads_alone, judge
from mergeguard.scratchdb.lifetime import ended_by_signals, held, temporary_tree
from mergeguard.scratchdb.paths import meetings, plan_paths

Progress = Callable[[str], None]


@dataclass
class ApplyResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    paths_run: int = 0


@dataclass(frozen=True, slots=True)
class ApplyOptions:
    url: str | None = None
    orders: int = 6
    timeout: float = 300.0
    env: str = "auto"


def target(scenario: MergeScenario) -> Side:
    """The tree to prove: the merge a range predicts, else the checked tree."""
    return scenario.merged if scenario.has_base else scenario.checked


def apply_scenario(
    scenario: MergeScenario, options: ApplyOptions, progress: Progress = lambda _: None
) -> ApplyResult:
    """Run every path of every environment of the scenario's target tree.

    However it ends (an error, a crash of the worker, SIGTERM, SIGINT), it leaves
    no temporary tree, no worker process and no scratch database (``lifetime``)."""
    with ended_by_signals():
        return _apply(scenario, options, progress)


def _apply(scenario: MergeScenario, options: ApplyOptions, progress: Progress) -> ApplyResult:
    from mergeguard.scratchdb.database import ScratchDatabase, refuse_a_database_with_tables

    side = target(scenario)
    if side.snapshot is None:
        raise MergeguardError("nothing to apply: the tree could not be read")
    if options.url:
        refuse_a_database_with_tables(options.url)
    result = ApplyResult()
    with temporary_tree() as work:
        root = work / "tree"
        progress(f"writing {side.label} into a temporary directory")
        materialize(side.snapshot, root)
        for env, read in side.reads.items():
            graph = read.graph
            points = meetings(graph, _meeting_points(scenario, env, graph, result))
            plan = plan_paths(graph, points, options.orders)
            result.notes.extend(plan.notes)
            with held():  # dropped even if a signal comes while it is made
                scratch = ScratchDatabase.create(options.url, work)
            with scratch as database:
                progress(f"[{env}] {len(plan.paths)} paths on {database.display_url}")
                result.notes.extend(f"[{env}] {note}" for note in database.notes)
                limits = Limits(options.env, options.timeout)
                runs = [path.run for path in plan.paths]
                outcome = run_paths(root, read.environment, database, runs, limits, progress)
            if outcome.env_used == "builtin":
                result.notes.append(
                    f"[{env}] env.py could not run on its own ({outcome.env_error}); "
                    "used mergeguard's minimal environment (the revisions' upgrade()/downgrade())"
                )
            result.diagnostics.extend(judge(graph, env, plan.paths, outcome.paths))
            alone = heads_alone(graph, env, plan.paths, outcome.paths)
            if alone:
                result.notes.append(alone)
            result.paths_run += len(plan.paths)
    return result


RECENT_MERGES = 10


def _meeting_points(
    scenario: MergeScenario, env: str, graph: RevisionGraph, result: ApplyResult
) -> list[tuple[str, tuple[str, ...], str | None]]:
    """The forks to try in every order: those a range introduces; for a tree
    or a ref on its own, its conflicting heads and its latest merge points."""
    found = meeting_tips(scenario, env)
    if scenario.has_base:
        return found
    merges = [m for m in graph.topological() if graph.nodes[m].is_merge_point]
    if len(merges) > RECENT_MERGES:
        result.notes.append(
            f"[{env}] {len(merges)} merge revisions: the latest "
            f"{RECENT_MERGES} are tried in every order"
        )
    known = {m for _, _, m in found}
    for merge in merges[-RECENT_MERGES:]:
        parents = tuple(p for p in graph.script(merge).down_revisions if p in graph)
        if merge not in known and len(parents) > 1:
            found.append((f"merge revision {merge}", parents, merge))
    return found


def materialize(snapshot: Snapshot, root: Path) -> None:
    """Every file of ``snapshot`` under ``root`` (so env.py can import the app)."""
    entries = snapshot.files(ROOT)
    for source in snapshot.read_many(entries):
        path = root / source.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.text)
