"""What the topology rules (MG1xx) share: how they name a line of heads and
the command a hint offers.  Every rule here works per environment."""

from __future__ import annotations

from mergeguard.graph.queries import conflict_groups, head_count
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import MERGE, RANGE, MergeScenario
from mergeguard.model import MigrationScript


def lineage(key: str) -> str:
    return f"branch label {key!r}" if key else "the unlabelled line"


def upgrade_target(key: str) -> str:
    return f"alembic upgrade {key}@head" if key else "alembic upgrade head"


def describe_heads(graph: RevisionGraph, heads: tuple[str, ...]) -> str:
    return ", ".join(f"{h} ({graph.script(h).path})" for h in heads)


def newest_head(graph: RevisionGraph, heads: tuple[str, ...], prefer: set[str]) -> MigrationScript:
    """The head a finding points at: one the checked side added, if any."""
    chosen = next((h for h in reversed(heads) if h in prefer), heads[-1])
    return graph.script(chosen)


def missing_merge_keys(scenario: MergeScenario, env: str) -> dict[str, tuple[str, ...]]:
    """Lineages whose merged tree has more heads than either side alone."""
    merged = scenario.merged.graph(env)
    if merged is None or (
        scenario.kind != MERGE and (scenario.fast_forward or not scenario.has_base)
    ):
        return {}
    theirs, ours = scenario.theirs.graph(env), scenario.ours.graph(env)
    return {
        key: heads
        for key, heads in conflict_groups(merged).items()
        if len(heads) > max(head_count(theirs, key), head_count(ours, key))
    }


def fix_command(scenario: MergeScenario, mode: str, *, with_range: bool = True) -> str:
    """The command a hint names for ``mergeguard fix --MODE`` (with the range
    checked, when there is one and ``with_range``), as it works where the hint
    is printed: under pre-commit, whose virtualenv holds the ``mergeguard``
    command, the manual-stage hook ``mergeguard-fix-MODE`` (a range travels
    as pre-commit's ``--from-ref`` / ``--to-ref``)."""
    theirs, ours = scenario.theirs.label, scenario.ours.label
    ranged = with_range and scenario.kind == RANGE
    if scenario.via_pre_commit:
        refs = f" --from-ref {theirs} --to-ref {ours}" if ranged else ""
        return f"pre-commit run --hook-stage manual mergeguard-fix-{mode}{refs}"
    return f"mergeguard fix --{mode}" + (f" {theirs}..{ours}" if ranged else "")
