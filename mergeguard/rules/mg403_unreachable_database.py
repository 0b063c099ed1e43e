"""MG403 unreachable-database: its documentation, examples and check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mergeguard.codes import Code, diagnostic
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic
from mergeguard.rules.rule import Rule

if TYPE_CHECKING:
    from mergeguard.rules.example_kit import Example

CODE = Code(
    "MG403",
    "unreachable-database",
    "warning",
    "a configured database could not be read, so MG401 and MG402 could not judge it",
)


def unreachable_database(scenario: MergeScenario, env: str) -> Iterator[Diagnostic]:
    """MG403: a configured database of ``env`` could not be read (its error,
    password masked, is in the reading); a reading of an environment the
    scenario does not have is reported with the first environment, so that
    no database goes unmentioned."""
    environments = scenario.environments()
    for reading in scenario.databases:
        if reading.error is None:
            continue
        mine = reading.environment == env
        orphan = reading.environment not in environments and environments[:1] == (env,)
        if mine or orphan:
            yield diagnostic(
                CODE,
                f"database {reading.name} could not be read ({reading.error}); whether it "
                "is stranded (MG401) or applied a revision this range rewrites (MG402) "
                "was not checked",
                None,
                hint=f"check {reading.name}'s URL in [tool.mergeguard.databases] (or the "
                "variable it names) and that the server answers, then `mergeguard status`; "
                "`--no-databases` skips the databases",
                environment=env,
            )


def _examples() -> tuple[Example, ...]:
    """Built when the docs or the tests ask (a check never reads them)."""
    from mergeguard.rules.example_kit import A1, B2, Deployed, Example, Rev

    return (
        Example(
            "the staging database cannot be reached",
            (A1, B2),
            ours=(Rev("c3", "b2"),),
            databases=(Deployed("staging", unreachable=True),),
            expect=("MG403",),
        ),
        Example(
            "a database without a version table yet is read fine",
            (A1, B2),
            ours=(Rev("c3", "b2"),),
            databases=(Deployed("staging", None),),
        ),
    )


RULE = Rule(
    CODE,
    what=(
        "A database configured in `[tool.mergeguard.databases]` could not be read: the "
        "server did not answer within the timeout, refused the login, the driver is not "
        "installed, or the `env:` variable holding its URL is not set.  The error is shown "
        "with the password masked.  The check goes on without that database: this is a "
        "warning, never a failure of the check."
    ),
    why=(
        "MG401 and MG402 judge only the databases mergeguard could read; a database that "
        "did not answer must not pass for one that is fine."
    ),
    fix=(
        "Make the database reachable from where the check runs (set the variable, install "
        "the driver, allow the connection), or skip the databases with `--no-databases` "
        '(or `ignore = ["MG403"]` where they are never reachable, such as a laptop).'
    ),
    build_examples=_examples,
    check=unreachable_database,
)
