"""MG106 redundant-merge: its documentation, examples and check."""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.revisions import RevisionGraph, location_of
from mergeguard.graph.scenario import MERGE, MergeScenario, Side, added_revisions
from mergeguard.model import Diagnostic, MigrationScript
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG106",
    "redundant-merge",
    "warning",
    "two merge revisions join the same heads, or a merge joins revisions already joined",
)


def redundant_merge(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG106: a new merge revision joins what is already joined, on the
    checked side or across the two sides of the range."""
    across = list(_twins_across(scenario, env))
    paired = {r for keep, drop in across for r in (keep.revision, drop.revision)}
    for keep, drop in across:
        yield _across_finding(scenario, env, keep, drop)
    side = scenario.checked
    graph = side.graph(env)
    if graph is None:
        return
    merges = list(graph.merge_points)
    added = added_revisions(scenario.base, side, env)
    # on a cycle "already an ancestor" holds of everything: MG005 says what is wrong
    for revision in (r for r in merges if r in added and r not in graph.cyclic):
        if revision in paired:
            continue  # said once above, naming the one to keep
        script = graph.script(revision)
        parents = set(script.down_revisions)
        twin = next(
            (m for m in merges if m != revision and set(graph.script(m).down_revisions) == parents),
            None,
        )
        joined = _already_joined(graph, script)
        if twin is None and joined is None:
            continue
        why = (
            f"merge revision {twin} ({graph.script(twin).path}) already joins the same heads"
            if twin
            else f"{joined[0]} is already an ancestor of {joined[1]}"  # type: ignore[index]
        )
        yield diagnostic(
            CODE,
            f"merge revision {revision} ({script.path}) is redundant: {why}",
            location_of(script),
            hint="delete this merge revision, or make it join only the heads that remain",
            revisions=(revision,) + ((twin,) if twin else ()),
            environment=env,
        )


def _twins_across(
    scenario: MergeScenario, env: str
) -> Iterator[tuple[MigrationScript, MigrationScript]]:
    """(keep, drop): two merge revisions of the same heads, one added by each
    side (two people ran ``alembic merge`` on the same heads), both in the
    tree the merge leaves.  Keep the target branch's: theirs in a range
    (where the work lands), ours (HEAD) during a merge."""
    if not scenario.has_base or scenario.fast_forward:
        return
    theirs = _added_merges(scenario, scenario.theirs, env)
    ours = _added_merges(scenario, scenario.ours, env) if theirs else {}
    if not ours:
        return
    merged = scenario.merged.scripts(env)
    target_is_theirs = scenario.kind != MERGE
    for parents, their_merge in theirs.items():
        our_merge = ours.get(parents)
        if our_merge is None or our_merge.revision == their_merge.revision:
            continue  # the same id on both sides is one revision (or MG105)
        if our_merge.revision not in merged or their_merge.revision not in merged:
            continue  # the merge keeps only one of them (a conflict on the same path)
        keep, drop = (their_merge, our_merge) if target_is_theirs else (our_merge, their_merge)
        yield merged[keep.revision], merged[drop.revision]


def _added_merges(
    scenario: MergeScenario, side: Side, env: str
) -> dict[frozenset[str], MigrationScript]:
    """The merge revisions ``side`` added since the merge base, by their parents."""
    return {
        frozenset(script.down_revisions): script
        for script in added_revisions(scenario.base, side, env).values()
        if len(script.down_revisions) > 1
    }


def _across_finding(
    scenario: MergeScenario, env: str, keep: MigrationScript, drop: MigrationScript
) -> Diagnostic:
    target, other = (
        (scenario.theirs, scenario.ours)
        if scenario.kind != MERGE
        else (scenario.ours, scenario.theirs)
    )
    heads = ", ".join(sorted(keep.down_revisions))
    return diagnostic(
        CODE,
        f"merge revisions {drop.revision} ({drop.path}, from {other.label}) and "
        f"{keep.revision} ({keep.path}, on {target.label}) both join {heads}: after the "
        f"merge both are heads; keep {keep.revision}, which {target.label} already has",
        location_of(drop),
        hint=f"delete {drop.path} (`git rm {shlex.quote(str(drop.path))}`) and keep "
        f"{keep.revision}; the merge then leaves one head",
        revisions=(drop.revision, keep.revision),
        environment=env,
        related=(location_of(keep),),
    )


def _already_joined(graph: RevisionGraph, script: MigrationScript) -> tuple[str, str] | None:
    present = [p for p in script.down_revisions if p in graph]
    for parent in present:
        for other in present:
            if other != parent and parent in graph.ancestors([other], dependencies=False):
                return parent, other
    return None


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import LINE, Example, Rev

    return (
        Example(
            "a merge revision joins a revision with its own ancestor",
            LINE,
            ours=(Rev("c3", "b2"), Rev("m1", ("b2", "c3"))),
            expect=("MG106",),
        ),
        Example(
            "two people merge the same heads on their own branches",
            (*LINE, Rev("c3", "a1")),
            ours=(Rev("m2", ("b2", "c3")),),
            theirs=(Rev("m1", ("b2", "c3")),),
            expect=("MG102", "MG106"),
        ),
        Example(
            "a merge revision joins two real heads",
            LINE,
            ours=(Rev("c3", "b2"), Rev("d4", "b2"), Rev("m1", ("c3", "d4"))),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "A new merge revision joins heads that another merge revision already joins, or "
        "joins a revision with its own ancestor (a warning).  Across the two sides of a "
        "range: each side adds a merge revision of the same heads (two people ran "
        "`alembic merge` or `mergeguard fix --merge` on their own branches), so the tree "
        "the merge leaves has both; the finding names both files and the one to keep, "
        "the one the target branch already has (theirs in a range, HEAD during a merge)."
    ),
    why="It adds a no-op node that makes the history harder to read and to rebase.",
    fix=(
        "Delete the redundant merge revision, or make it join only the heads that remain; "
        "of two merges from the two sides, delete the one the target branch lacks."
    ),
    build_examples=_examples,
    check=redundant_merge,
)
