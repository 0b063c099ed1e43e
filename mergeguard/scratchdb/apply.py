"""``mergeguard apply``: prove the branch model on a scratch database.

The tree under test (a ref, the merge a range predicts, or the working tree)
is written into a temporary directory; a scratch database is created (and
dropped at the end, whatever happens); a worker subprocess, the only process
that imports migrations, runs every path of ``paths`` with Alembic's own
machinery (plan and results are ``protocol``'s documents; what comes back
is checked, the worker runs project code); ``judge`` turns its results into
MG301-MG304.  The user's
working tree and databases are never touched.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mergeguard.errors import MergeguardError
from mergeguard.git.snapshot import ROOT, Snapshot
from mergeguard.graph.queries import meeting_tips
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import MergeScenario, Side
from mergeguard.model import Diagnostic, Environment, frozen
from mergeguard.scratchdb.crash import Crash, crashed_path, read_progress
from mergeguard.scratchdb.judge import heads_alone, judge
from mergeguard.scratchdb.lifetime import (
    WorkerTimedOut,
    ended_by_signals,
    held,
    run_worker,
    temporary_tree,
)
from mergeguard.scratchdb.paths import meetings, plan_paths
from mergeguard.scratchdb.protocol import (
    WORKER_MODULE,
    Outcome,
    PathResult,
    Plan,
    ProtocolError,
    Reset,
    RunPath,
    decode,
    encode,
)

Progress = Callable[[str], None]


@dataclass
class ApplyResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    paths_run: int = 0


@frozen
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
                runs = [path.run for path in plan.paths]
                outcome = _run_worker(root, read.environment, database, runs, options, progress)
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


def _plan(
    root: Path,
    environment: Environment,
    url: str,
    paths: Sequence[RunPath],
    options: ApplyOptions,
    reset: Reset | None,
) -> Plan:
    """The worker's plan for ``environment`` of the tree written at ``root``."""
    config = environment.config_path
    config_file = str(root / config) if config is not None and config.suffix == ".ini" else None
    script = environment.script_location or (
        environment.version_locations[0].parent if environment.version_locations else ROOT
    )
    return Plan(
        config_file=config_file,
        section=environment.section,
        script_location=str(root / script),
        version_locations=tuple(str(root / v) for v in environment.version_locations),
        recursive=environment.recursive,
        url=url,
        env=options.env,
        timeout=options.timeout,
        reset=reset,
        paths=tuple(paths),
    )


def _run_worker(
    root: Path,
    environment: Environment,
    database: Any,
    paths: Sequence[RunPath],
    options: ApplyOptions,
    progress: Progress,
) -> Outcome:
    """The worker's results for all paths: one process on a default SQLite
    file (it resets the file itself), else one process per path."""
    if database.dialect == "sqlite" and database.owns_file and database.sqlite_path:
        reset = Reset("sqlite-file", path=str(database.sqlite_path))
        return _invoke(root, _plan(root, environment, database.url, paths, options, reset), options)
    results: list[PathResult] = []
    env_used: str | None = None
    env_error: str | None = None
    for index, path in enumerate(paths):
        progress(f"path {index + 1}/{len(paths)}: {path.name}")
        database.reset()
        plan = _plan(root, environment, database.url, [path], options, None)
        outcome = _invoke(root, plan, options)
        results.extend(outcome.paths)
        if env_used is None:  # the first worker's word on the environment
            env_used, env_error = outcome.env_used, outcome.env_error
    return Outcome(env_used or "project", env_error, tuple(results))


def _invoke(root: Path, plan: Plan, options: ApplyOptions) -> Outcome:
    """One worker on ``plan``; its results, one per path of the plan."""
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    worker = [sys.executable, "-m", WORKER_MODULE]
    progress = root.parent / "worker-progress.jsonl"  # the temporary tree's own directory
    progress.unlink(missing_ok=True)
    try:
        done = run_worker(
            worker,
            input=encode(replace(plan, progress=str(progress)).to_json()),
            cwd=root,
            env=environment,
            files=root.parent,
            timeout=options.timeout * max(len(plan.paths), 1) * 6 + 60,
        )
    except WorkerTimedOut as exc:
        raise MergeguardError(
            "the scratch database run timed out",
            hint="raise --timeout, or look for a migration that hangs",
        ) from exc
    outcome, reason = _read_outcome(done.stdout, len(plan.paths))
    if done.returncode != 0 or outcome is None:
        crash = read_progress(progress.read_text("utf-8", "replace") if progress.exists() else "")
        if crash.running is not None:
            died = crashed_path(crash.running, done.returncode)
            return _after_crash(root, plan, crash, died, options)
        tail = " ".join((done.stderr or "").strip().splitlines()[-3:])
        raise MergeguardError(
            f"the scratch database worker failed: {tail or reason or 'no output'}",
            hint="run with MERGEGUARD_DEBUG=1 and report it",
        )
    refuse_missing_modules(outcome.paths, root)
    return outcome


def _read_outcome(stdout: str, expected: int) -> tuple[Outcome | None, str | None]:
    """The worker's result document, checked; else None and why."""
    try:
        outcome = Outcome.from_json(decode(stdout, "worker's result"))
    except ProtocolError as exc:
        return None, str(exc)
    if len(outcome.paths) != expected:
        return None, f"{len(outcome.paths)} results for {expected} paths"
    return outcome, None


def _after_crash(
    root: Path, plan: Plan, crash: Crash, died: PathResult, options: ApplyOptions
) -> Outcome:
    """The worker died inside a migration: the paths it finished, the one it died
    in (``died``: failed at the running revision), the rest run in a fresh worker."""
    results = [*crash.done, died][: len(plan.paths)]
    rest = plan.paths[len(results) :]
    env_used = crash.env_used or "project"
    if rest:
        results += _invoke(root, replace(plan, paths=rest), options).paths
    refuse_missing_modules(results, root)
    return Outcome(env_used, crash.env_error, tuple(results))


NOT_INSTALLED_HINT = (
    "run apply in the project's own environment (the one that runs `alembic upgrade`)"
)


def refuse_missing_modules(paths: Sequence[PathResult], root: Path) -> None:
    """A module the project imports is not installed in mergeguard's environment:
    no finding could be trusted (every path that needs it fails the same way),
    so this is "could not run", not MG301.  The worker has already fallen back
    from an env.py that needs it when the built-in environment does without."""
    found = next((p.missing_module for p in paths if p.missing_module), None)
    if found is None:
        return
    name = printable(found.name)
    where = _relative(found.path, root)
    needed = f" (imported by {where}:{found.line})" if where else ""
    raise MergeguardError(
        f"could not run: `{name}` is not installed in this environment{needed}",
        hint=NOT_INSTALLED_HINT,
    )


def _relative(path: str | None, root: Path) -> str | None:
    """``path`` (the worker's, absolute) as the project names it, relative to its tree."""
    if not path:
        return None
    try:
        shown = str(Path(os.path.realpath(path)).relative_to(os.path.realpath(root)))
    except ValueError:
        shown = path
    return printable(shown)


def printable(text: str) -> str:
    """``text`` as it is when printable, else its escaped repr (a name from the project
    must not write control characters to the terminal)."""
    return text if text.isprintable() else repr(text)[1:-1]
