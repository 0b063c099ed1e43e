"""Topology rules (MG1xx): what the range does to the revision graph.

Several heads are fine when they live on separate labelled lines
(``alembic upgrade expand@head`` works for each).  Heads *conflict* when the
branch labels on their ancestries intersect, or when neither carries a label:
then ``alembic upgrade head`` (or ``<label>@head``) fails with "Multiple head
revisions".  Every rule here works per environment.
"""

from __future__ import annotations

from collections.abc import Iterator

from mergeguard.graph.queries import conflict_groups, fork_points, head_count
from mergeguard.graph.revisions import RevisionGraph, location_of
from mergeguard.graph.scenario import MERGE, RANGE, MergeScenario, added_revisions, published_on
from mergeguard.model import Diagnostic, MigrationScript
from mergeguard.rules.catalogue import diagnostic


def _lineage(key: str) -> str:
    return f"branch label {key!r}" if key else "the unlabelled line"


def _upgrade_target(key: str) -> str:
    return f"alembic upgrade {key}@head" if key else "alembic upgrade head"


def _describe(graph: RevisionGraph, heads: tuple[str, ...]) -> str:
    return ", ".join(f"{h} ({graph.script(h).path})" for h in heads)


def _newest(graph: RevisionGraph, heads: tuple[str, ...], prefer: set[str]) -> MigrationScript:
    """The head a finding points at: one the checked side added, if any."""
    chosen = next((h for h in reversed(heads) if h in prefer), heads[-1])
    return graph.script(chosen)


def new_multiple_heads(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG101: the checked tree has conflicting heads (new ones are errors; in a
    range, ones the left side already had are one warning)."""
    side = scenario.checked
    graph = side.graph(env)
    if graph is None:
        return
    added = set(added_revisions(scenario.base, side, env))
    covered = set(_missing_merge_keys(scenario, env)) if scenario.kind == MERGE else set()
    for key, heads in conflict_groups(graph).items():
        if key in covered:
            continue  # MG102 reports the merge that made these heads
        before = head_count(scenario.theirs.graph(env), key)
        already = scenario.kind == RANGE and len(heads) <= before
        where = side.title
        message = (
            f"{where} has {len(heads)} heads on {_lineage(key)}: {_describe(graph, heads)}; "
            f'`{_upgrade_target(key)}` fails with "Multiple head revisions"'
        )
        if already:
            message += f" (already on {scenario.theirs.label})"
        yield diagnostic(
            "MG101",
            message,
            location_of(_newest(graph, heads, added)),
            hint=_heads_hint(scenario, heads, added),
            revisions=heads,
            severity="warning" if already else "error",
            environment=env,
        )


def _heads_hint(scenario: MergeScenario, heads: tuple[str, ...], added: set[str]) -> str:
    """Join the heads; when all but one are this branch's own (after a ``git
    rebase`` onto the target), moving them onto the other is the linear fix."""
    merge = f"`{fix_command(scenario, 'merge', with_range=False)}`"
    others = [h for h in heads if h not in added]
    if scenario.kind == MERGE or not scenario.has_base or len(others) != 1:
        return f"join them with a merge revision: {merge}"
    rebase = fix_command(scenario, "rebase", with_range=False)
    return (
        f"move this branch's revisions onto {others[0]} with `{rebase}`, "
        f"or join them with a merge revision: {merge}"
    )


def _missing_merge_keys(scenario: MergeScenario, env: str) -> dict[str, tuple[str, ...]]:
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


def missing_merge_point(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG102: each side is fine alone, but together they leave several heads."""
    merged = scenario.merged.graph(env)
    if merged is None:
        return
    ours_added = set(added_revisions(scenario.base, scenario.ours, env))
    theirs_added = set(added_revisions(scenario.base, scenario.theirs, env))
    for key, heads in _missing_merge_keys(scenario, env).items():
        forks = fork_points(merged, heads)
        ours_heads = tuple(h for h in heads if h in ours_added)
        their_heads = tuple(h for h in heads if h not in ours_added)
        fork = f" diverging at {', '.join(forks)}" if forks else ""
        yield diagnostic(
            "MG102",
            f"merging {scenario.ours.label} and {scenario.theirs.label} leaves {len(heads)} "
            f"heads on {_lineage(key)}{fork}: {_describe(merged, ours_heads)} only on "
            f"{scenario.ours.label}; {_describe(merged, their_heads)} on "
            f"{scenario.theirs.label}; `{_upgrade_target(key)}` will fail after the merge",
            location_of(_newest(merged, heads, ours_added or theirs_added)),
            hint=_merge_hint(scenario),
            revisions=heads,
            environment=env,
        )


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


def _merge_hint(scenario: MergeScenario) -> str:
    if scenario.kind == MERGE:
        return f"write the merge revision now: `{fix_command(scenario, 'merge')}`"
    return (
        f"move this branch's revisions onto {scenario.theirs.label}'s head with "
        f"`{fix_command(scenario, 'rebase')}`, or add a merge revision with "
        f"`{fix_command(scenario, 'merge')}`"
    )


def published_revision_changed(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG103: a published revision was re-pointed, renamed or deleted: one the
    merge base has and the target (or a ``published`` ref) still has as it
    was, or one on a ``published`` ref the checked commit contains."""
    if not scenario.has_base or scenario.kind == MERGE:
        return
    ours = scenario.ours.scripts(env)
    ours_by_path = {s.path: s for s in ours.values()}
    for revision, before, where_published in _published_before(scenario, env):
        after = ours.get(revision)
        if after is not None and _shape(after) == _shape(before):
            continue
        what, where = _change(before, after, ours_by_path.get(before.path))
        yield diagnostic(
            "MG103",
            f"revision {revision} is published on {where_published} but "
            f"{scenario.ours.label} {what}; databases that already applied it will "
            "silently skip or repeat migrations",
            location_of(where or before),
            hint=f"restore revision {revision} as {where_published} has it; put new work "
            f"in a new revision, or join heads with `{fix_command(scenario, 'merge')}`",
            revisions=(revision,),
            environment=env,
        )


def _published_before(
    scenario: MergeScenario, env: str
) -> Iterator[tuple[str, MigrationScript, str]]:
    """(revision, its published script, where) for every revision the checked
    side must keep as it is."""
    seen: set[str] = set()
    for revision, before in scenario.base.scripts(env).items():
        where = published_on(scenario, env, revision, key=_shape, like=before)
        if where is not None:  # else the target changed it too, or dropped it
            seen.add(revision)
            yield revision, before, where
    for side in scenario.published.sides(below_ours=True):
        for revision, script in side.scripts(env).items():
            if revision not in seen:
                seen.add(revision)
                yield revision, script, side.label


def _shape(script: MigrationScript) -> tuple[object, ...]:
    return (script.down_revisions, script.depends_on, script.branch_labels)


def _change(
    before: MigrationScript, after: MigrationScript | None, same_path: MigrationScript | None
) -> tuple[str, MigrationScript | None]:
    if after is not None:
        old, new = ", ".join(before.down_revisions) or "None", ", ".join(after.down_revisions)
        if before.down_revisions != after.down_revisions:
            return f"re-points its down_revision from {old} to {new or 'None'}", after
        return "changes its depends_on or branch_labels", after
    if same_path is not None:
        return f"renamed it to {same_path.revision} in {same_path.path}", same_path
    return f"deleted it ({before.path})", None


def new_unlabeled_base(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG104: the range adds a second root without a branch label."""
    if not scenario.base.scripts(env):
        return  # the first migration of a project is a base, rightly
    side = scenario.checked
    for revision, script in added_revisions(scenario.base, side, env).items():
        if script.down_revisions or script.branch_labels or not script.complete:
            continue
        yield diagnostic(
            "MG104",
            f"{script.path} adds revision {revision} with down_revision = None and no branch "
            "label: a second unlabelled root, so `alembic upgrade head` sees two heads",
            location_of(script),
            hint="point down_revision at the current head (`mergeguard heads`), or give this "
            "independent line a branch_labels = ('name',)",
            revisions=(revision,),
            environment=env,
        )


def revision_id_collision(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG105: both sides add the same revision id with different content."""
    theirs = added_revisions(scenario.base, scenario.theirs, env)
    ours = added_revisions(scenario.base, scenario.ours, env)
    for revision in sorted(theirs.keys() & ours.keys()):
        mine, other = ours[revision], theirs[revision]
        if mine.blob == other.blob:
            continue  # the same migration on both sides (a cherry-pick)
        yield diagnostic(
            "MG105",
            f"revision id {revision} is added by both {scenario.ours.label} ({mine.path}) and "
            f"{scenario.theirs.label} ({other.path}) with different content",
            location_of(mine),
            hint=f"give the revision in {mine.path} a new id (`alembic revision` makes one) "
            "and re-point what follows it",
            revisions=(revision,),
            environment=env,
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
            "MG106",
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


TOPOLOGY_RULES = (
    new_multiple_heads,
    missing_merge_point,
    published_revision_changed,
    new_unlabeled_base,
    revision_id_collision,
    redundant_merge,
)
