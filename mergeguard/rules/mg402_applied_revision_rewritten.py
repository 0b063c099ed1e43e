"""MG402 applied-revision-rewritten: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.deployed import applied_revisions
from mergeguard.graph.revisions import location_of
from mergeguard.graph.scenario import MERGE, MergeScenario, Side
from mergeguard.model import DatabaseReading, Diagnostic, MigrationScript
from mergeguard.rules.databases import (
    downgrade_below,
    names,
    readings_of,
    rows_of,
    unread_paths,
)
from mergeguard.rules.heads import fix_command
from mergeguard.rules.revision_changes import change, shape
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG402",
    "applied-revision-rewritten",
    "error",
    "the range re-points, renames or deletes a revision a configured database has applied",
)

_ABSENT = ("absent",)  # the state of a revision a side does not have


class _Applied:
    """One revision some databases applied: as the side they applied it from
    has it, and the row of each database that brought it in (a plain class:
    a dataclass would import dataclasses on every check's path)."""

    def __init__(
        self, before: MigrationScript, holder: Side, rows: dict[str, str] | None = None
    ) -> None:
        self.before = before
        self.holder = holder
        self.rows: dict[str, str] = {} if rows is None else rows  # database name -> its row


def applied_revision_rewritten(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG402: the checked side changed the place of a revision a database
    applied.  What the database applied is read in the graph of the first
    side holding its row (the merge base, the other side, the checked
    branch during a merge, a ``published`` ref); a row only the checked
    branch has tells nothing about an older version.  A change counts when
    the checked side's version differs from the applied one and from every
    version the range did not make itself (the merge base's, the other
    side's; during a merge, both parents'): a change that came from the
    other side is that side's finding."""
    after_side = scenario.checked
    unread = unread_paths(after_side, env)
    readings = readings_of(scenario, env)
    if unread is None or not readings:
        return
    applied = _applied(scenario, env, readings)
    after = after_side.scripts(env)
    by_path: dict[PurePosixPath, MigrationScript] | None = None
    for revision, found in applied.items():
        now = after.get(revision)
        if not _rewritten(scenario, env, revision, now, found):
            continue
        if now is None and found.before.path in unread:
            continue  # its file is still there, only unreadable: MG001 / MG002 say so
        if by_path is None:
            by_path = {s.path: s for s in after.values()}
        yield _finding(scenario, env, revision, found, now, by_path.get(found.before.path))


def _not_the_ranges(scenario: MergeScenario) -> list[Side]:
    """The sides whose versions the range did not make: the merge base and
    the other side; during a merge, both parents."""
    sides = [scenario.base, scenario.theirs]
    if scenario.kind == MERGE:
        sides.append(scenario.ours)
    return sides


def _applied(
    scenario: MergeScenario, env: str, readings: list[DatabaseReading]
) -> dict[str, _Applied]:
    """Every revision a database applied that a side other than the checked
    one shows it applying (see ``applied_revision_rewritten``)."""
    holders = _not_the_ranges(scenario) + list(scenario.published.sides())
    found: dict[str, _Applied] = {}
    for reading in readings:
        for row in rows_of(reading):
            holder = next((s for s in holders if row in s.scripts(env)), None)
            graph = holder.graph(env) if holder is not None else None
            if holder is None or graph is None:
                continue  # only the checked branch has it, or no branch (MG401)
            for revision in applied_revisions(graph, [row]):
                entry = found.get(revision)
                if entry is None:
                    entry = found[revision] = _Applied(graph.script(revision), holder)
                entry.rows.setdefault(reading.name, row)
    return found


def _state(script: MigrationScript | None) -> tuple[object, ...]:
    return _ABSENT if script is None else shape(script)


def _rewritten(
    scenario: MergeScenario,
    env: str,
    revision: str,
    now: MigrationScript | None,
    found: _Applied,
) -> bool:
    """True when the range itself changed the applied revision's place."""
    state = _state(now)
    if now is found.before or state == shape(found.before):
        return False
    others = _not_the_ranges(scenario)
    return all(_state(side.scripts(env).get(revision)) != state for side in others)


def _finding(
    scenario: MergeScenario,
    env: str,
    revision: str,
    found: _Applied,
    now: MigrationScript | None,
    same_path: MigrationScript | None,
) -> Diagnostic:
    what, where = change(found.before, now, same_path)
    databases = sorted(found.rows)
    listed = names(databases)
    first = found.rows[databases[0]]
    return diagnostic(
        CODE,
        f"{listed} applied revision {revision} as {found.holder.title} has it, but "
        f"{scenario.checked.label} {what}; `alembic upgrade` there will silently skip or "
        "repeat migrations",
        location_of(where or found.before),
        hint=f"restore revision {revision} as {found.holder.label} has it and put new work in "
        f"a new revision, or join heads with `{fix_command(scenario, 'merge')}`; to rewrite "
        f"it anyway, first take {listed} below it (`{downgrade_below(first, found.before)}`)",
        revisions=(revision,),
        environment=env,
    )


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import A1, B2, Deployed, Example, Rev

    return (
        Example(
            "the feature branch re-points a revision staging applied",
            (A1, B2, Rev("c3", "b2")),
            ours=(Rev("c3", "a1"),),
            databases=(Deployed("staging", ("c3",)),),
            expect=("MG101", "MG103", "MG402"),
        ),
        Example(
            "no database applied the re-pointed revision yet",
            (A1, B2, Rev("c3", "b2")),
            ours=(Rev("c3", "a1"),),
            databases=(Deployed("staging", ("b2",)),),
            expect=("MG101", "MG103"),
        ),
        Example(
            "a database that applied a revision the range keeps is fine",
            (A1, B2),
            ours=(Rev("c3", "b2"),),
            databases=(Deployed("staging", ("b2",)),),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "The checked side re-points (`down_revision`, `depends_on` or `branch_labels` "
        "changed), renames (new id in the same file) or deletes a revision that a database "
        "configured in `[tool.mergeguard.databases]` has applied: its version table names "
        "the revision or one built on it.  What the database applied is read on the merge "
        "base, the other side (the branch the work merges into) or a `published` ref, so "
        "this holds whether or not git counts the revision as published (MG103).  A "
        "change the other side made is not the range's.  A revision only the checked "
        "branch has ever carried is guarded before it moves: `mergeguard fix --rebase` "
        "refuses to re-point it while a database has applied it.  Once it is rewritten by "
        "hand, a version table cannot tell which version the database ran (it may have "
        "been downgraded and upgraded again), so mergeguard does not guess."
    ),
    why=(
        "Alembic finds the applied revisions by walking the graph from the version table: "
        "once a revision moves, it skips migrations the database never ran, or runs "
        "again ones it did."
    ),
    fix=(
        "Restore the revision as applied; put new work in a new revision, or join heads "
        "with `mergeguard fix --merge`.  To rewrite it anyway, first downgrade every "
        "database that applied it below it (`mergeguard status` shows where each stands)."
    ),
    build_examples=_examples,
    check=applied_revision_rewritten,
)
