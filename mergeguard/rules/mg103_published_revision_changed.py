"""MG103 published-revision-changed: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.revisions import location_of
from mergeguard.graph.scenario import MERGE, MergeScenario, published_on
from mergeguard.model import Diagnostic, MigrationScript
from mergeguard.rules.heads import (
    fix_command,
)
from mergeguard.rules.revision_changes import change, kept, shape
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG103",
    "published-revision-changed",
    "error",
    "a revision on the base side was re-pointed, renamed or deleted",
)


def published_revision_changed(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG103: a published revision was re-pointed, renamed or deleted: one the
    merge base has and the target (or a ``published`` ref) still has as it
    was, or one on a ``published`` ref the checked commit contains."""
    if not scenario.has_base or scenario.kind == MERGE:
        return
    ours = scenario.ours.scripts(env)
    ours_by_path: dict[PurePosixPath, MigrationScript] | None = None
    for revision, before, where_published in _published_before(scenario, env, ours):
        after = ours.get(revision)
        if kept(after, before):
            continue
        if ours_by_path is None:
            ours_by_path = {s.path: s for s in ours.values()}
        what, where = change(before, after, ours_by_path.get(before.path))
        yield diagnostic(
            CODE,
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
    scenario: MergeScenario, env: str, ours: dict[str, MigrationScript]
) -> Iterator[tuple[str, MigrationScript, str]]:
    """(revision, its published script, where) for every revision the checked
    side must keep as it is (without ``published`` refs, only those ``ours``
    did not keep: where each is published is asked of those few alone)."""
    seen: set[str] = set()
    refs = bool(scenario.published.refs)
    for revision, before in scenario.base.scripts(env).items():
        if not refs:
            after = ours.get(revision)
            if after is before or kept(after, before):
                continue  # the same script (unchanged file) or the same place
        where = published_on(scenario, env, revision, key=shape, like=before)
        if where is not None:  # else the target changed it too, or dropped it
            seen.add(revision)
            yield revision, before, where
    for side in scenario.published.sides(below_ours=True):
        for revision, script in side.scripts(env).items():
            if revision not in seen:
                seen.add(revision)
                yield revision, script, side.label


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import A1, B2, Example, Rev

    return (
        Example(
            "a published revision is deleted",
            (A1, B2, Rev("c3", "b2")),
            ours=(Rev("c3", delete=True),),
            expect=("MG103",),
        ),
        Example(
            "a published revision is re-pointed",
            (A1, B2, Rev("c3", "b2")),
            ours=(Rev("c3", "a1"),),
            expect=("MG101", "MG103"),
        ),
        Example(
            "new work goes into a new revision", (A1, B2, Rev("c3", "b2")), ours=(Rev("d4", "c3"),)
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "A published revision was re-pointed (`down_revision`, `depends_on` or "
        "`branch_labels` changed), renamed (new id in the same file) or deleted on the "
        "checked side.  Published means on the branch the work merges into (the left side "
        "of the range, or the base: `--base`, `[tool.mergeguard] base`, the remote's "
        "default branch), or on a ref matching `[tool.mergeguard] published` (e.g. "
        '`["refs/tags/v*", "origin/release/*"]`).  A revision only on the feature branch '
        "and its own remote copy (`origin/feature`) is not published: rebasing it and "
        "force-pushing is the normal flow."
    ),
    why=(
        "Databases that already applied it record its id; Alembic then skips or repeats "
        "migrations silently."
    ),
    fix=(
        "Restore the revision as published; put new work in a new revision or join heads "
        "with `mergeguard fix --merge` (never `--rebase` a published revision)."
    ),
    build_examples=_examples,
    check=published_revision_changed,
)
