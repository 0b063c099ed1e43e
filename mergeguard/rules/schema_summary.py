"""What each side's new revisions do to the schema, in short (``+users.email``,
``-legacy``, ``~users.status``): the "schema" line of ``mergeguard check``."""

from __future__ import annotations

from mergeguard.graph.scenario import MergeScenario, added_revisions
from mergeguard.rules.schema_effects import Effects
from mergeguard.rules.schema_sides import branch_of

SUMMARY_LIMIT = 200


def summaries(scenario: MergeScenario, env: str) -> dict[str, list[str]]:
    """Per side, a short list of what its new revisions do to the schema
    (``+users.email``, ``-legacy``, ``~users.status``)."""
    found: dict[str, list[str]] = {}
    base, theirs, ours = scenario.sides
    for side in (ours, theirs):
        added = added_revisions(base, side, env)
        if not added:
            continue  # before the graph: a side that added nothing needs none built
        graph = side.graph(env)
        if graph is None:
            continue
        if len(added) > SUMMARY_LIMIT:
            found[side.label] = [f"{len(added)} revisions (too many to summarise)"]
            continue
        branch = branch_of(side.label, side, added, graph.position())
        items = Effects(branch).summary()
        if branch.opaque():
            items.append(f"{len(branch.opaque())} opaque")
        found[side.label] = items
    return found


def schema_changes(scenario: MergeScenario) -> dict[str, dict[str, list[str]]]:
    """Environment -> side label -> summary, for every environment with changes."""
    found = {env: summaries(scenario, env) for env in scenario.environments()}
    return {env: sides for env, sides in found.items() if any(sides.values())}
