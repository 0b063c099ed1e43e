"""``mergeguard status``: where each deployed database stands against a tree.

The tree is the work tree (HEAD in a bare repository), or the commit
``--ref`` names.  The databases are ``--url`` values (named url1, url2...),
else ``[tool.mergeguard.databases]`` of the work tree's pyproject.toml.  Each
is read read-only (``app.deployed``), judged (``graph.deployed.classify``),
and the MG4xx rules see the readings on a scenario of that tree alone (the
tree's own integrity errors are only noted: they are ``check``'s findings).
Nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable

from mergeguard.app.deployed import database_settings, read_deployed
from mergeguard.app.deployed_scenario import DATABASE_RULES, statuses, with_databases
from mergeguard.app.options import Options
from mergeguard.app.scenarios import Scenarios
from mergeguard.app.workspace import Workspace
from mergeguard.errors import MergeguardError
from mergeguard.graph.environments import all_diagnostics
from mergeguard.model import DatabaseReading, Diagnostic, StatusReport, field, frozen

Notify = Callable[[str], None]
NO_DATABASES_HINT = (
    'configure them in pyproject.toml: [tool.mergeguard.databases] staging = "env:STAGING_URL" '
    "(a name to a URL, or env:VARIABLE so that no secret is committed), or pass --url URL"
)


def _ignore(_: str) -> None:
    """The default ``warn``: notes dropped."""


@frozen
class StatusRequest:
    options: Options = field(default_factory=Options)
    ref: str | None = None
    urls: tuple[str, ...] = ()


def status(request: StatusRequest, *, warn: Notify = _ignore) -> StatusReport:
    """Read every database, judge it against the target tree, find what the
    MG4xx rules say; raises MergeguardError when it cannot run at all."""
    workspace = Workspace(request.options, warn=warn)
    settings = database_settings(workspace, request.urls)
    if not settings:
        raise MergeguardError("no databases to read", hint=NO_DATABASES_HINT)
    snapshot = workspace.snapshot(request.ref)
    reads = {read.environment.name: read for read in workspace.read(snapshot)}
    readings = read_deployed(
        workspace, snapshot, reads, settings, from_command_line=bool(request.urls), warn=warn
    )
    _note_broken_history(all_diagnostics(tuple(reads.values())), warn)
    diagnostics = _database_findings(workspace, request.ref, readings)
    workspace.close()
    return StatusReport(snapshot.origin, statuses(readings, reads), diagnostics)


def _note_broken_history(problems: tuple[Diagnostic, ...], warn: Notify) -> None:
    """The history's own errors (MG0xx) are ``heads``' and ``check``'s to
    report: ``status`` judges databases, and its exit code says only whether
    one is stranded.  But a broken graph makes ``pending`` doubtful: say so."""
    errors = [d for d in problems if d.severity == "error"]
    if errors:
        codes = ", ".join(sorted({d.code for d in errors}))
        warn(
            f"note: the history has {len(errors)} integrity error(s) ({codes}): what is "
            "pending may not be what Alembic runs (`mergeguard heads` shows them)"
        )


def _database_findings(
    workspace: Workspace,
    ref: str | None,
    readings: tuple[DatabaseReading, ...],
) -> tuple[Diagnostic, ...]:
    """What the MG4xx rules find on the tree alone with the readings (under
    the project's select / ignore)."""
    from mergeguard.rules.run import Selection, evaluate

    scenarios = Scenarios(workspace)
    sha = workspace.repo.resolve(ref) if ref is not None else None
    label = scenarios.display_name(ref) if ref is not None else "working tree"
    tree = workspace.snapshot(ref)
    scenario = with_databases(workspace, scenarios.alone(tree, label, sha), readings)
    selection = workspace.selection()
    found = evaluate(scenario, Selection(DATABASE_RULES))
    return tuple(d for d in found if selection.allows(d.code, d.name))
