"""MG106 redundant-merge: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.revisions import RevisionGraph, location_of
from mergeguard.graph.scenario import MergeScenario, added_revisions
from mergeguard.model import Diagnostic, MigrationScript
from mergeguard.rules.example_kit import LINE, Example, Rev
from mergeguard.rules.rule import Rule

CODE = Code(
    "MG106",
    "redundant-merge",
    "warning",
    "two merge revisions join the same heads, or a merge joins revisions already joined",
)


def redundant_merge(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG106: a new merge revision joins what is already joined."""
    side = scenario.checked
    graph = side.graph(env)
    if graph is None:
        return
    merges = list(graph.merge_points)
    added = added_revisions(scenario.base, side, env)
    # on a cycle "already an ancestor" holds of everything: MG005 says what is wrong
    for revision in (r for r in merges if r in added and r not in graph.cyclic):
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


def _already_joined(graph: RevisionGraph, script: MigrationScript) -> tuple[str, str] | None:
    present = [p for p in script.down_revisions if p in graph]
    for parent in present:
        for other in present:
            if other != parent and parent in graph.ancestors([other], dependencies=False):
                return parent, other
    return None


RULE = Rule(
    CODE,
    what=(
        "A new merge revision joins heads that another merge revision already joins, or "
        "joins a revision with its own ancestor (a warning)."
    ),
    why="It adds a no-op node that makes the history harder to read and to rebase.",
    fix="Delete the redundant merge revision, or make it join only the heads that remain.",
    examples=(
        Example(
            "a merge revision joins a revision with its own ancestor",
            LINE,
            ours=(Rev("c3", "b2"), Rev("m1", ("b2", "c3"))),
            expect=("MG106",),
        ),
        Example(
            "a merge revision joins two real heads",
            LINE,
            ours=(Rev("c3", "b2"), Rev("d4", "b2"), Rev("m1", ("c3", "d4"))),
        ),
    ),
    check=redundant_merge,
)
