"""``fix`` at the application edge: open the workspace, build what the fix
works on (fix/run.py), and judge the scenario's schema conflicts with the
pipeline, as ``check`` would under the project's own select / ignore."""

from __future__ import annotations

from mergeguard.app.options import Options
from mergeguard.app.pipeline import CheckRequest, Notify, judge
from mergeguard.app.scenarios import parse_range
from mergeguard.app.workspace import Workspace
from mergeguard.errors import MergeguardError
from mergeguard.fix import run as fixing
from mergeguard.graph.scenario import RANGE
from mergeguard.model import frozen

SCHEMA_FAMILY = ("MG2",)


@frozen
class FixRequest:
    """``mergeguard fix``'s arguments: ``mode`` is ``merge`` or ``rebase``."""

    mode: str
    options: Options = Options()
    range_spec: str | None = None
    message: str | None = None
    rev_id: str | None = None
    dry_run: bool = False
    allow_conflicts: bool = False
    run_hooks: bool = True  # --no-hooks: False
    databases: bool = True  # --no-databases: False


def fix(request: FixRequest, *, warn: Notify) -> fixing.Outcome:
    """Plan the fix on the scenario of ``check`` and write it (see fix/run.py)."""
    workspace = Workspace(request.options, warn=warn)
    root = workspace.repo.work_tree
    if root is None:
        raise MergeguardError(
            "a bare repository has no working tree to fix",
            hint="run mergeguard fix in a clone with a working tree",
        )
    scenario = workspace.scenario(request.range_spec)
    if request.mode == "rebase" and scenario.kind == RANGE:
        _require_checked_out(workspace, request.range_spec or "")
    if request.databases:  # a rebase must not move what a database applied
        from mergeguard.app.deployed_scenario import attach_databases

        scenario = attach_databases(workspace, scenario, warn=warn)
    tree = workspace.snapshot()
    conflicts = judge(workspace, scenario, CheckRequest(families=SCHEMA_FAMILY))
    inputs = fixing.FixInputs(root, tree, scenario, conflicts)
    outcome = fixing.run(
        inputs,
        request.mode,
        message=request.message,
        rev_id=request.rev_id,
        dry_run=request.dry_run,
        allow_conflicts=request.allow_conflicts,
        run_hooks=request.run_hooks,
    )
    workspace.close()
    return outcome


def _require_checked_out(workspace: Workspace, range_spec: str) -> None:
    """--rebase rewrites files in the working tree: B of A..B must be HEAD."""
    _, right = parse_range(range_spec)
    if right and workspace.repo.resolve(right) != workspace.repo.resolve("HEAD"):
        raise MergeguardError(
            f"{right} is not checked out: fix --rebase rewrites its files in the working tree",
            hint=f"git switch {right}, then run it again",
        )
