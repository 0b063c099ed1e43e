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
from mergeguard.graph.scenario import RANGE
from mergeguard.model import Diagnostic, Environment, MigrationScript

if TYPE_CHECKING:
    from mergeguard.app.workspace import Workspace


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
    allow_conflicts: bool = False,
) -> Outcome:
    """Plan the fix; write it unless ``dry_run`` or something refused.  Both
    modes run the schema rules on the sides first: a merge file records their
    conflicts in a comment; a rebase, which would hide them in a line of
    revisions, writes nothing while there are any (unless ``allow_conflicts``)."""
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

    from mergeguard.rules.run import Selection, evaluate

    chosen = workspace.selection()  # the project's own select / ignore, as `check` has them
    found = evaluate(scenario, Selection(select=("MG2",)))
    conflicts = [d for d in found if chosen.allows(d.code, d.name)]
    if mode == "merge":
        plan = plan_merge(scenario, MergeOptions(message, rev_id), template_of, exists, conflicts)
    else:
        plan = plan_rebase(scenario, read_file)
        _hold_on_conflicts(plan, conflicts, allow_conflicts)
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


def _hold_on_conflicts(plan: Plan, conflicts: list[Diagnostic], allow_conflicts: bool) -> None:
    """A rebase that would line up two sides that collide in the schema: list
    the conflicts, and refuse unless they are allowed."""
    errors = [d for d in conflicts if d.severity == "error"]
    if not plan.patches or not errors:
        return
    plan.conflicts.extend(errors)
    if not allow_conflicts:
        plan.refusals.append(
            f"the sides conflict in the schema ({len(errors)} finding(s) above): re-pointing "
            "the revisions would not make them run apart; resolve the conflicts first, or "
            "pass --allow-conflicts to re-point them anyway"
        )


def _require_checked_out(workspace: Workspace, range_spec: str) -> None:
    """--rebase rewrites files in the working tree: B of A..B must be HEAD."""
    from mergeguard.app.workspace import parse_range

    _, right = parse_range(range_spec)
    if right and workspace.repo.resolve(right) != workspace.repo.resolve("HEAD"):
        raise MergeguardError(
            f"{right} is not checked out: fix --rebase rewrites its files in the working tree",
            hint=f"git switch {right}, then run it again",
        )
