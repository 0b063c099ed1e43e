"""MG101 new-multiple-heads: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.queries import conflict_groups, head_count
from mergeguard.graph.revisions import location_of
from mergeguard.graph.scenario import MERGE, RANGE, MergeScenario, added_revisions
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
    "MG101",
    "new-multiple-heads",
    "error",
    "the checked side has more conflicting heads than its base had",
)


def new_multiple_heads(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG101: the checked tree has conflicting heads (new ones are errors; in a
    range, ones the left side already had are one warning)."""
    side = scenario.checked
    graph = side.graph(env)
    if graph is None:
        return
    added = set(added_revisions(scenario.base, side, env))
    covered = set(missing_merge_keys(scenario, env)) if scenario.kind == MERGE else set()
    for key, heads in conflict_groups(graph).items():
        if key in covered:
            continue  # MG102 reports the merge that made these heads
        before = head_count(scenario.theirs.graph(env), key)
        already = scenario.kind == RANGE and len(heads) <= before
        where = side.title
        message = (
            f"{where} has {len(heads)} heads on {lineage(key)}: {describe_heads(graph, heads)}; "
            f'`{upgrade_target(key)}` fails with "Multiple head revisions"'
        )
        if already:
            message += f" (already on {scenario.theirs.label})"
        yield diagnostic(
            CODE,
            message,
            location_of(newest_head(graph, heads, added)),
            hint=_heads_hint(scenario, heads, added, applied_among(scenario, env, graph, added)),
            revisions=heads,
            severity="warning" if already else "error",
            environment=env,
        )


def _heads_hint(
    scenario: MergeScenario, heads: tuple[str, ...], added: set[str], applied: str | None
) -> str:
    """Join the heads; when all but one are this branch's own (after a ``git
    rebase`` onto the target), moving them onto the other is the linear fix,
    unless a deployed database has applied them (``applied`` says which)."""
    merge = f"`{fix_command(scenario, 'merge', with_range=False)}`"
    others = [h for h in heads if h not in added]
    if scenario.kind == MERGE or not scenario.has_base or len(others) != 1:
        return f"join them with a merge revision: {merge}"
    if applied:
        return f"join them with a merge revision: {merge} ({applied}: do not re-point it)"
    rebase = fix_command(scenario, "rebase", with_range=False)
    return (
        f"move this branch's revisions onto {others[0]} with `{rebase}`, "
        f"or join them with a merge revision: {merge}"
    )


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import A1, LINE, Example, Rev

    return (
        Example(
            "the branch itself forks",
            LINE,
            ours=(Rev("c3", "b2"), Rev("d4", "b2")),
            expect=("MG101",),
        ),
        Example(
            "a second head inside one labelled line",
            (A1, Rev("x1", None, labels=("audit",))),
            ours=(Rev("x2", "x1"), Rev("x3", "x1")),
            expect=("MG101",),
        ),
        Example(
            "an independent labelled line is not a conflict",
            LINE,
            ours=(Rev("x1", None, labels=("audit",)), Rev("x2", "x1")),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "The checked tree has several heads on one line: heads whose ancestries share a "
        "branch label, or heads without any label.  Labelled independent lines "
        "(expand/contract, several labelled bases) are fine."
    ),
    why=(
        '`alembic upgrade head` (or `label@head`) fails with "Multiple head revisions are '
        'present".  In a range, heads the left side already had are one warning.'
    ),
    fix=(
        "Join the heads with a merge revision: `mergeguard fix --merge` (under "
        "pre-commit: `pre-commit run --hook-stage manual mergeguard-fix-merge`)."
    ),
    build_examples=_examples,
    check=new_multiple_heads,
)
