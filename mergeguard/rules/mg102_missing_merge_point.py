"""MG102 missing-merge-point: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.queries import fork_points
from mergeguard.graph.revisions import location_of
from mergeguard.graph.scenario import MERGE, MergeScenario, added_revisions
from mergeguard.model import Diagnostic
from mergeguard.rules.databases import applied_among
from mergeguard.rules.heads import (
    describe_heads,
    fix_command,
    lineage,
    missing_merge_keys,
    newest_head,
    upgrade_target,
)
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG102",
    "missing-merge-point",
    "error",
    "both sides added revisions on diverging heads: the merge will leave several heads",
)


def missing_merge_point(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG102: each side is fine alone, but together they leave several heads."""
    merged = scenario.merged.graph(env)
    if merged is None:
        return
    ours_added = set(added_revisions(scenario.base, scenario.ours, env))
    theirs_added = set(added_revisions(scenario.base, scenario.theirs, env))
    for key, heads in missing_merge_keys(scenario, env).items():
        forks = fork_points(merged, heads)
        ours_heads = tuple(h for h in heads if h in ours_added)
        their_heads = tuple(h for h in heads if h not in ours_added)
        fork = f" diverging at {', '.join(forks)}" if forks else ""
        yield diagnostic(
            CODE,
            f"merging {scenario.ours.label} and {scenario.theirs.label} leaves {len(heads)} "
            f"heads on {lineage(key)}{fork}: {describe_heads(merged, ours_heads)} only on "
            f"{scenario.ours.label}; {describe_heads(merged, their_heads)} on "
            f"{scenario.theirs.label}; `{upgrade_target(key)}` will fail after the merge",
            location_of(newest_head(merged, heads, ours_added or theirs_added)),
            hint=_merge_hint(scenario, applied_among(scenario, env, merged, ours_added)),
            revisions=heads,
            environment=env,
        )


def _merge_hint(scenario: MergeScenario, applied: str | None) -> str:
    """The fix: a merge revision, or moving this branch's revisions (unless a
    deployed database has applied them: ``applied`` says which)."""
    if scenario.kind == MERGE:
        return f"write the merge revision now: `{fix_command(scenario, 'merge')}`"
    if applied:
        return (
            f"add a merge revision with `{fix_command(scenario, 'merge')}` ({applied}: "
            "re-pointing it with fix --rebase would make Alembic skip migrations there)"
        )
    return (
        f"move this branch's revisions onto {scenario.theirs.label}'s head with "
        f"`{fix_command(scenario, 'rebase')}`, or add a merge revision with "
        f"`{fix_command(scenario, 'merge')}`"
    )


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import A1, B2, LINE, Example, Rev

    return (
        Example(
            "both branches add a revision on the same parent",
            LINE,
            theirs=(Rev("c3", "b2", message="add users.phone"),),
            ours=(Rev("d4", "b2", message="add users.email"),),
            expect=("MG102",),
        ),
        Example(
            "the branch starts from main's head", (A1, B2, Rev("c3", "b2")), ours=(Rev("d4", "c3"),)
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "Each side of the range is fine alone, but both added revisions on diverging heads "
        "since the merge base: after the merge the history has several heads.  Reported "
        "before the merge, naming both revisions and the fork point."
    ),
    why=(
        "git merges the files cleanly and every pull request was green; deployment then "
        'fails with "Multiple head revisions".'
    ),
    fix=(
        "Move this branch's revisions onto the other side's head (`mergeguard fix "
        "--rebase A..B`, safe while they are unpublished), or add a merge revision "
        "(`mergeguard fix --merge A..B`).  Under pre-commit the hint names the "
        "manual-stage hooks instead: `pre-commit run --hook-stage manual "
        "mergeguard-fix-rebase` (or `mergeguard-fix-merge`)."
    ),
    build_examples=_examples,
    check=missing_merge_point,
)
