"""MG401 stranded-database: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.deployed import nearest_kept
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.graph.scenario import MergeScenario, Side, deployed_side
from mergeguard.model import DatabaseReading, Diagnostic
from mergeguard.rules.databases import (
    history_name,
    holder_of,
    readings_of,
    refs_holding,
    rows_of,
    unread_paths,
)
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG401",
    "stranded-database",
    "error",
    "a configured database is on a revision the target history does not have",
)

MAX_REFS_NAMED = 3  # branches named in one hint (the rest are counted)


def stranded_database(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG401: a database's version table names a revision that the history
    to be deployed (what the merge leaves; else the checked tree) lacks.
    Quiet when that history has files whose revision id could not be read
    (MG001 / MG002 say so): the revision may be one of them."""
    target = deployed_side(scenario)
    graph = target.graph(env)
    unread = unread_paths(target, env)
    if graph is None or unread is None or unread:
        return
    for reading in readings_of(scenario, env):
        for revision in (r for r in rows_of(reading) if r not in graph):
            before = _stranded_before(scenario, env, revision)
            yield diagnostic(
                CODE,
                f"database {reading.name} is on revision {revision}, which "
                f"{history_name(scenario, target)} does not have: `alembic upgrade` there "
                f"stops with \"Can't locate revision identified by '{revision}'\""
                + (
                    " (already so before this change: `mergeguard status` shows it)"
                    if before
                    else ""
                ),
                None,
                hint=_way_back(scenario, env, target, graph, reading, revision),
                revisions=(revision,),
                severity="warning" if before else None,
                environment=env,
            )


def _stranded_before(scenario: MergeScenario, env: str, revision: str) -> bool:
    """True when the database was stranded before the change being checked:
    neither the merge base nor the other side (main, or HEAD for the working
    tree) has the revision (it came from some other branch, deployed to that
    database).  As MG101 does for heads already on main, that is a warning:
    a change that did not strand the database cannot un-strand it, and
    failing every unrelated pull request while a branch is deployed to
    staging would only get the check switched off.  With no earlier side
    (``status``: the tree alone) it stays an error."""
    target = deployed_side(scenario).snapshot
    sides = (scenario.base, scenario.theirs) if scenario.has_base else (scenario.theirs,)
    earlier = [s for s in sides if s.snapshot is not None and s.snapshot is not target]
    return bool(earlier) and all(revision not in side.scripts(env) for side in earlier)


def _way_back(
    scenario: MergeScenario,
    env: str,
    target: Side,
    graph: RevisionGraph,
    reading: DatabaseReading,
    revision: str,
) -> str:
    """The command that takes the database back onto the target history, run
    from a checkout of a branch that has the revision (only there does
    Alembic know how to downgrade it)."""
    holder = holder_of(scenario, env, reading, revision)
    refs = refs_holding(reading, revision)
    if holder is None or holder.graph(env) is None:
        where = _listed(refs) if refs else "no branch mergeguard searched"
        return (
            f"{revision} is on {where}: from a checkout of a branch that has it, run "
            f"`alembic downgrade {revision}@<its nearest ancestor {history_name(scenario, target)} "
            f"has>` against {reading.name}; or merge that branch"
        )
    holder_graph = holder.graph(env)
    assert holder_graph is not None
    forks = nearest_kept(holder_graph, revision, graph)
    if len(forks) <= 1:
        step = f"run `alembic downgrade {revision}@{forks[0] if forks else 'base'}`"
    else:  # a stranded merge of several kept revisions
        step = f"downgrade {revision} until the version table holds {', '.join(forks)}"
    also = [ref for ref in refs if ref != holder.label]
    where = holder.label + (f" (also on {_listed(also)})" if also else "")
    return (
        f"from a checkout of {where}, {step} against {reading.name} (then `alembic upgrade "
        f"heads` from {history_name(scenario, target)}); or merge the branch that has it"
    )


def _listed(refs: tuple[str, ...] | list[str]) -> str:
    shown = ", ".join(refs[:MAX_REFS_NAMED])
    more = len(refs) - MAX_REFS_NAMED
    return shown + (f" and {more} more" if more > 0 else "")


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import A1, B2, Deployed, Example, Rev

    return (
        Example(
            "a database is on a revision that no branch has",
            (A1, B2),
            ours=(Rev("c3", "b2"),),
            databases=(Deployed("staging", ("x9",)),),
            expect=("MG401",),
        ),
        Example(
            "a database is on a revision the feature branch deleted",
            (A1, B2, Rev("c3", "b2")),
            ours=(Rev("c3", delete=True),),
            databases=(Deployed("staging", ("c3",)),),
            expect=("MG103", "MG401", "MG402"),
        ),
        Example(
            "a database that is behind is fine",
            (A1, B2),
            ours=(Rev("c3", "b2"),),
            databases=(Deployed("staging", ("a1",)),),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "A database configured in `[tool.mergeguard.databases]` is on a revision that the "
        "history to be deployed does not have: the tree the merge leaves (for a range, or "
        "the working tree against its base), else the checked tree.  Typically a staging "
        "database that ran a feature branch which was never merged, or whose revision "
        "was since deleted.  A database that is simply behind, or on a revision of the "
        "other side, is not stranded: the merge has its revisions.  In `check`, a "
        "database stranded before the change (neither the merge base nor the other side "
        "has the revision) is a warning, as MG101 reports heads already on main: the "
        "change did not strand it, and an unrelated pull request must not fail while a "
        "branch is deployed to staging; `mergeguard status` exits 1 on it."
    ),
    why=(
        '`alembic upgrade` on that database stops with "Can\'t locate revision": the '
        "deployed code no longer knows the revision, so it can neither upgrade nor "
        "downgrade it."
    ),
    fix=(
        "From a checkout of the branch that has the revision (the hint names it: "
        "`mergeguard status` lists the branches that have it), run `alembic downgrade "
        "<revision>@<fork point>` against that database, the fork point being its nearest "
        "ancestor the deployed history has; then `alembic upgrade heads`.  Or merge that "
        "branch."
    ),
    build_examples=_examples,
    check=stranded_database,
)
