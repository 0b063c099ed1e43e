"""``mergeguard fix``: plan against the scenario, verify, write (the edge).

The workspace supplies the scenario and the working tree; ``plan`` decides;
``apply`` writes.  Nothing is written when anything refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from mergeguard.errors import MergeguardError
from mergeguard.fix import apply
from mergeguard.fix.plan import MergeOptions, Plan, plan_merge, plan_rebase
from mergeguard.model import Environment, MigrationScript
from mergeguard.scenario import RANGE

if TYPE_CHECKING:
    from mergeguard.workspace import Workspace


@dataclass
class Outcome:
    plan: Plan
    diffs: list[str] = field(default_factory=list)


def run(
    workspace: Workspace,
    mode: str,
    range_spec: str | None,
    *,
    message: str | None,
    rev_id: str | None,
    dry_run: bool,
) -> Outcome:
    """Plan the fix; write it unless ``dry_run`` or something refused."""
    root = workspace.repo.work_tree
    if root is None:
        raise MergeguardError(
            "a bare repository has no working tree to fix",
            hint="run mergeguard fix in a clone with a working tree",
        )
    scenario = workspace.scenario(range_spec)
    if mode == "rebase" and scenario.kind == RANGE:
        _require_checked_out(workspace, range_spec or "")
    tree = workspace.snapshot()

    def template_of(environment: Environment) -> bytes | None:
        if environment.script_location is None:
            return None
        return tree.read(environment.script_location / "script.py.mako")

    def read_file(script: MigrationScript) -> bytes | None:
        # Where it would be written, checked before reading: a link out of the
        # repository (to /dev/zero, say) is refused, not read.
        path = apply.real_path(root, script.path, PurePosixPath("."), new=False)
        return path.read_bytes() if path.is_file() else None

    def exists(path: PurePosixPath) -> bool:
        return (root / path).exists()

    if mode == "merge":
        from mergeguard.rules.run import Selection, evaluate

        conflicts = [d for d in evaluate(scenario, Selection(select=("MG2",)))]
        plan = plan_merge(scenario, MergeOptions(message, rev_id), template_of, exists, conflicts)
    else:
        plan = plan_rebase(scenario, read_file)
    outcome = Outcome(plan)
    if plan.refusals:
        plan.patches.clear()
        plan.notes.clear()
        return outcome
    if dry_run:
        apply.verify(root, plan.patches)  # a dry run refuses what the run would
        outcome.diffs = [apply.unified_diff(p) for p in plan.patches]
    else:
        apply.write(root, plan.patches)
    return outcome


def _require_checked_out(workspace: Workspace, range_spec: str) -> None:
    """--rebase rewrites files in the working tree: B of A..B must be HEAD."""
    from mergeguard.workspace import parse_range

    _, right = parse_range(range_spec)
    if right and workspace.repo.resolve(right) != workspace.repo.resolve("HEAD"):
        raise MergeguardError(
            f"{right} is not checked out: fix --rebase rewrites its files in the working tree",
            hint=f"git switch {right}, then run it again",
        )
