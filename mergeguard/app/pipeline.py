"""One check, from a request to a Report: ``check(request) -> Report``.

The command line's ``check`` and ``apply`` call ``check``; ``fix`` judges its
scenario with ``judge`` (the same evaluation, on the scenario it then
repairs).  Nothing here prints: notes for the user go to ``warn``, the
scratch database's progress to the updater ``progress`` yields.  ``heads`` and
``graph`` are not checks: ``read`` and ``read_range`` give them the graphs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from mergeguard.app.options import Options
from mergeguard.app.workspace import Workspace
from mergeguard.graph.environments import EnvironmentRead, all_diagnostics
from mergeguard.graph.scenario import MergeScenario, Side, deployed_side
from mergeguard.model import (
    DatabaseReading,
    DatabaseStatus,
    Diagnostic,
    EnvironmentSummary,
    RangeChart,
    RangeMarks,
    Report,
    ScenarioSummary,
    SideSummary,
    field,
    frozen,
    schema_changes_of,
)

if TYPE_CHECKING:  # the rules are imported by what judges: heads and graph need none
    from mergeguard.rules.run import Selection

Notify = Callable[[str], None]
Progress = Callable[[], AbstractContextManager[Notify]]


@contextmanager
def _silent() -> Iterator[Notify]:
    yield lambda _: None


def _ignore(_: str) -> None:
    """The default ``warn``: notes dropped."""


@frozen
class ApplyRequest:
    """Also prove the scenario on a scratch database (``check --apply``, ``apply``).

    ``selected``: the database findings go through select / ignore as the
    static ones do (``check --apply``), or are all reported (``apply``)."""

    url: str | None = None
    orders: int = 6
    timeout: float = 300.0
    selected: bool = True


@frozen
class CheckRequest:
    """What to check and what the report must hold.

    The scenario: ``range_spec`` (``A..B``, or one ref: the tree against it),
    else the default scenario of ``check`` (``staged``: the index); with
    ``single_ref`` the commit ``range_spec`` names on its own (``apply REF``).
    ``databases``: read the configured deployed databases (when a rule that
    judges them is selected).
    The rules: ``select`` / ``ignore`` from the command line on top of the
    project's; ``families`` (code prefixes) runs only those rules, under the
    project's selection (``apply``'s graph findings, ``fix``'s schema
    conflicts).  ``schema_changes`` and ``charts`` add what Markdown and the
    text summary show (each costs a read the other formats do not need).
    """

    options: Options = field(default_factory=Options)
    range_spec: str | None = None
    staged: bool = False
    single_ref: bool = False
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    schema_changes: bool = False
    charts: bool = False
    apply: ApplyRequest | None = None
    databases: bool = True  # --no-databases: False


def check(request: CheckRequest, *, warn: Notify = _ignore, progress: Progress = _silent) -> Report:
    """Open the repository, build the scenario, judge it."""
    workspace = Workspace(request.options, warn=warn)
    if request.single_ref and request.range_spec:
        scenario = workspace.ref_scenario(request.range_spec)
    else:
        scenario = workspace.scenario(request.range_spec, staged=request.staged)
    if request.databases and _judges_databases(workspace, request):
        from mergeguard.app.deployed_scenario import attach_databases

        staged = request.staged or workspace.under_pre_commit()
        scenario = attach_databases(workspace, scenario, staged=staged, warn=warn)
    report = judge(workspace, scenario, request, warn=warn, progress=progress)
    workspace.close()
    return report


def _judges_databases(workspace: Workspace, request: CheckRequest) -> bool:
    """True when the request's selection keeps a rule that reads the databases."""
    from mergeguard.app.deployed_scenario import DATABASE_RULES
    from mergeguard.rules.catalogue import BY_CODE
    from mergeguard.rules.run import Selection

    selection = workspace.selection(request.select, request.ignore, staged=request.staged)
    chosen = Selection(request.families) if request.families else selection
    rules = (BY_CODE[code] for code in DATABASE_RULES)
    return any(chosen.allows(r.code, r.name) and selection.allows(r.code, r.name) for r in rules)


def judge(
    workspace: Workspace,
    scenario: MergeScenario,
    request: CheckRequest,
    *,
    warn: Notify = _ignore,
    progress: Progress = _silent,
) -> Report:
    """The findings of ``scenario`` the request's selection keeps (the static
    rules first, then the database when asked), with what the formats show."""
    from mergeguard.rules.run import Selection, evaluate

    selection = workspace.selection(request.select, request.ignore, staged=request.staged)
    if request.families:
        found = evaluate(scenario, Selection(request.families))
        diagnostics = tuple(d for d in found if selection.allows(d.code, d.name))
    else:
        diagnostics = evaluate(scenario, selection)
    if request.apply is not None:
        applied = _apply(scenario, request.apply, warn, progress)
        if request.apply.selected:
            applied = [d for d in applied if selection.allows(d.code, d.name)]
        diagnostics += tuple(applied)
    changes = _schema_changes(scenario, selection) if request.schema_changes else {}
    return Report(
        diagnostics=diagnostics,
        scenario=summarize(scenario),
        environments=_environments(scenario.checked),
        schema_changes=schema_changes_of(changes),
        charts=_charts(scenario) if request.charts else (),
        databases=_statuses(scenario),
    )


def _statuses(scenario: MergeScenario) -> tuple[DatabaseStatus, ...]:
    """Where each database read stands against the history to be deployed."""
    if not scenario.databases:
        return ()
    from mergeguard.app.deployed_scenario import statuses

    return statuses(scenario.databases, deployed_side(scenario).reads)


def summarize(scenario: MergeScenario) -> ScenarioSummary:
    """The scenario as the reports name it."""

    def side(side: Side) -> SideSummary:
        return SideSummary(side.role, side.label, side.sha)

    return ScenarioSummary(
        kind=scenario.kind,
        base=side(scenario.base),
        theirs=side(scenario.theirs),
        ours=side(scenario.ours),
        has_base=scenario.has_base,
        conflicts=scenario.conflicts,
    )


def _environments(side: Side) -> tuple[EnvironmentSummary, ...]:
    return tuple(
        EnvironmentSummary(
            name=name,
            origin=read.origin,
            files=tuple(script.path for script in read.scripts),
            heads=read.graph.heads,
        )
        for name, read in side.reads.items()
    )


def _schema_changes(
    scenario: MergeScenario, selection: Selection
) -> dict[str, dict[str, list[str]]]:
    """What each side does to the schema, when the schema rules are selected."""
    from mergeguard.rules.run import SCHEMA_RULES
    from mergeguard.rules.schema_summary import schema_changes

    if not any(selection.allows(r.code, r.name) for r in SCHEMA_RULES):
        return {}
    return schema_changes(scenario)


def _charts(scenario: MergeScenario) -> tuple[RangeChart, ...]:
    from mergeguard.report.rangechart import chart_of

    found = (chart_of(scenario, env) for env in scenario.environments())
    return tuple(chart for chart in found if chart is not None)


def _apply(
    scenario: MergeScenario, request: ApplyRequest, warn: Notify, progress: Progress
) -> list[Diagnostic]:
    """Run the scratch database paths; their notes and count go to ``warn``."""
    from mergeguard.scratchdb.apply import ApplyOptions, apply_scenario

    options = ApplyOptions(request.url, request.orders, request.timeout)
    with progress() as update:
        result = apply_scenario(scenario, options, update)
    for note in result.notes:
        warn(f"note: {note}")
    warn(f"{result.paths_run} paths run on the scratch database")
    return result.diagnostics


# -- heads and graph ------------------------------------------------------------------


def read(
    options: Options, ref: str | None, *, warn: Notify = _ignore, databases: bool = False
) -> tuple[tuple[EnvironmentRead, ...], tuple[Diagnostic, ...], tuple[DatabaseReading, ...]]:
    """Every environment at ``ref`` (else the working tree), its problems,
    and (``databases``) the configured deployed databases read against it."""
    workspace = Workspace(options, warn=warn)
    snapshot = workspace.snapshot(ref)
    reads = workspace.read(snapshot)
    readings: tuple[DatabaseReading, ...] = ()
    if databases:
        from mergeguard.app.deployed_scenario import read_databases

        by_name = {read.environment.name: read for read in reads}
        side = Side("tree", snapshot.origin, snapshot.origin, None, by_name, snapshot=snapshot)
        readings = read_databases(workspace, side, warn=warn)
    workspace.close()
    return reads, all_diagnostics(reads), readings


def read_range(
    options: Options, range_spec: str, *, warn: Notify = _ignore, databases: bool = False
) -> tuple[
    tuple[EnvironmentRead, ...], tuple[Diagnostic, ...], RangeMarks, tuple[DatabaseReading, ...]
]:
    """What ``graph A..B`` draws: the merged side's environments, their
    problems, the revisions each side adds, and (``databases``) the
    configured deployed databases read against the merged side."""
    from mergeguard.report.graphviews import range_marks

    workspace = Workspace(options, warn=warn)
    scenario = workspace.scenario(range_spec)
    reads = tuple(scenario.merged.reads.values())
    marks = range_marks(scenario)
    readings: tuple[DatabaseReading, ...] = ()
    if databases:
        from mergeguard.app.deployed_scenario import read_databases

        readings = read_databases(workspace, scenario.merged, warn=warn)
    workspace.close()
    return reads, all_diagnostics(reads), marks, readings
