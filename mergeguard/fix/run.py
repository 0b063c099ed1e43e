"""``mergeguard fix``: plan against the scenario, verify, write.

The application (app/fixing.py) supplies what a fix works on: the working
tree's root and snapshot, the scenario, and the Report of its schema findings
under the project's own select / ignore; ``plan`` decides; ``apply`` writes.
Nothing is written when anything refuses (a post-write hook's configuration
included); a hook that fails after the file is written is reported, the file
stays.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from mergeguard.config.alembic_ini import DiscoveryContext
from mergeguard.config.write_hooks import hooks_of
from mergeguard.fix import apply, hooks
from mergeguard.fix.plan import MergeOptions, Plan, plan_merge, plan_rebase, target_side
from mergeguard.git.snapshot import Snapshot
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic, Environment, MigrationScript, Report, frozen


@frozen
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
    """The plan, a dry run's diffs, and what the post-write hooks said
    (lines for the user, escaped where printed)."""

    plan: Plan
    diffs: list[str] = field(default_factory=list)
    hook_lines: list[str] = field(default_factory=list)


def run(
    inputs: FixInputs,
    mode: str,
    *,
    message: str | None,
    rev_id: str | None,
    dry_run: bool,
    allow_conflicts: bool = False,
    run_hooks: bool = True,
) -> Outcome:
    """Plan the fix; write it unless ``dry_run`` or something refused.  Both
    modes take the schema findings of the sides: a merge file records their
    conflicts in a comment; a rebase, which would hide them in a line of
    revisions, writes nothing while there are any (unless ``allow_conflicts``).
    A merge file goes through the environment's post-write hooks unless
    ``run_hooks`` is False (never on a dry run)."""
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
        options = MergeOptions(message, rev_id)
        plan = plan_merge(scenario, options, template_of, exists, conflicts, _head_reader(scenario))
    else:
        plan = plan_rebase(scenario, read_file)
        _hold_on_conflicts(plan, conflicts, allow_conflicts)
    outcome = Outcome(plan)
    if plan.refusals:
        plan.patches.clear()
        plan.notes.clear()
        plan.databases.clear()
        return outcome
    if dry_run:
        apply.verify(root, plan.patches)  # a dry run refuses what the run would
        outcome.diffs = [apply.unified_diff(p) for p in plan.patches]
        return outcome
    commands = _hook_commands(inputs, plan) if run_hooks else {}
    timeout = hooks.hook_timeout(os.environ) if commands else hooks.TIMEOUT_SECONDS
    apply.write(root, plan.patches)
    for path, prepared in commands.items():
        runs = hooks.run(prepared, (root / path).absolute(), timeout)
        _report_hooks(outcome, path, runs, len(prepared))
    return outcome


def _head_reader(scenario: MergeScenario) -> Callable[[MigrationScript], bytes | None]:
    """A head's file as a side that has it holds it (for its Create Date)."""
    sides = [target_side(scenario), scenario.ours, scenario.theirs, scenario.merged]

    def read(script: MigrationScript) -> bytes | None:
        for side in sides:
            if side.snapshot is None:
                continue
            for env_read in side.reads.values():
                graph = env_read.graph
                if script.revision in graph and graph.script(script.revision) == script:
                    return side.snapshot.read(script.path)
        return None

    return read


def _hook_commands(inputs: FixInputs, plan: Plan) -> dict[PurePosixPath, list[hooks.HookCommand]]:
    """The post-write hooks of each new merge file, read and checked before
    anything is written (a wrong hook configuration writes nothing)."""
    context = DiscoveryContext(inputs.tree)
    commands = {}
    for path in (patch.path for patch in plan.patches):
        environment = plan.environments.get(path)
        found = hooks_of(context, environment) if environment is not None else ()
        if found:
            commands[path] = hooks.prepare(found, inputs.root)
    return commands


def _report_hooks(
    outcome: Outcome, path: PurePosixPath, runs: list[hooks.HookRun], total: int
) -> None:
    """What the hooks did to ``path``: a line each; a failure's output and a
    refusal (the fix exits 1; the file stays written)."""
    for result in runs:
        label = result.command.label
        if result.failure is None:
            outcome.hook_lines.append(f"ran {label} on {path}")
            continue
        outcome.hook_lines.append(f"{label} {result.failure} on {path}; its output:")
        lines = result.output.splitlines() or ["(no output)"]
        outcome.hook_lines.extend(f"  | {line}" for line in lines)
        skipped = total - len(runs)
        after = f"; the {skipped} hook(s) after it did not run" if skipped else ""
        outcome.plan.refusals.append(
            f"{label} failed on {path} (its output is above){after}; the merge file is "
            "written and kept: correct it or the hook and run the hook again "
            "(mergeguard fix --no-hooks skips the hooks)"
        )


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
