"""``mergeguard fix``: plan against the scenario, verify, write.

The application (app/fixing.py) supplies what a fix works on: the working
tree's root and snapshot, the scenario, and the Report of its schema findings
under the project's own select / ignore; ``plan`` decides; ``apply`` writes.
Nothing is written when anything refuses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mergeguard.fix import apply
from mergeguard.fix.plan import MergeOptions, Plan, plan_merge, plan_rebase
from mergeguard.git.snapshot import Snapshot
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic, Environment, MigrationScript, Report


@dataclass(frozen=True, slots=True)
class FixInputs:
    """What a fix works on: ``root`` the working tree (where files are
    written), ``tree`` its snapshot (for the merge template), ``scenario``
    the scenario of ``check``, and ``conflicts`` the Report of its schema
    rules (MG2) under the project's select / ignore."""

    root: Path
    tree: Snapshot
    scenario: MergeScenario
    conflicts: Report


@dataclass
class Outcome:
    plan: Plan
    diffs: list[str] = field(default_factory=list)


def run(
    inputs: FixInputs,
    mode: str,
    *,
    message: str | None,
    rev_id: str | None,
    dry_run: bool,
    allow_conflicts: bool = False,
) -> Outcome:
    """Plan the fix; write it unless ``dry_run`` or something refused.  Both
    modes take the schema findings of the sides: a merge file records their
    conflicts in a comment; a rebase, which would hide them in a line of
    revisions, writes nothing while there are any (unless ``allow_conflicts``)."""
    root, tree, scenario = inputs.root, inputs.tree, inputs.scenario

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

    conflicts = list(inputs.conflicts.diagnostics)
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
