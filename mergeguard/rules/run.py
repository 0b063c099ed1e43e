"""Running the rules: evaluate a scenario, apply selection and waivers.

``evaluate`` runs every rule on every environment of a scenario, then applies
the user's selection (``select`` / ``ignore`` by code, code prefix or name) and
the waivers written in the migrations themselves
(``down_revision = ...  # mergeguard: ignore[MG101]``).
"""

from __future__ import annotations

from collections.abc import Iterable

from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic, MigrationScript, frozen
from mergeguard.rules.catalogue import RULES
from mergeguard.rules.integrity import integrity
from mergeguard.rules.rule import Check, Rule, matches

SCHEMA_RULES = tuple(r for r in RULES if r.code.startswith("MG2"))
# The rules with a check of their own, in code order (the others are reported
# by the reader and the graph, or by `mergeguard apply`).
CHECKED_RULES: tuple[tuple[Rule, Check], ...] = tuple(
    (r, r.check) for r in RULES if r.check is not None
)


def unknown_selectors(patterns: Iterable[str]) -> list[str]:
    """The selectors that name no rule at all (a typo silences nothing)."""
    return [p for p in patterns if not any(matches(p, r.code, r.name) for r in RULES)]


def _specificity(pattern: str, code: str, name: str) -> int:
    """How precisely ``pattern`` names the rule: a name or full code beats a
    prefix, a longer prefix beats a shorter one; -1 when it does not match."""
    if not matches(pattern, code, name):
        return -1
    return (
        10
        if pattern.strip().lower() == name or len(pattern.strip()) == len(code)
        else len(pattern.strip())
    )


@frozen
class Selection:
    """Which rules report.  As in ruff, the most specific selector decides
    (``ignore = ["MG1"]`` with ``--select MG102`` keeps MG102); on a tie,
    ignore wins; with no matching selector a rule reports unless ``select``
    is given."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def allows(self, code: str, name: str) -> bool:
        chosen = max((_specificity(p, code, name) for p in self.select), default=-1)
        skipped = max((_specificity(p, code, name) for p in self.ignore), default=-1)
        if skipped >= 0 and skipped >= chosen:
            return False
        return chosen >= 0 or not self.select


EVERY_RULE = Selection()


def evaluate(scenario: MergeScenario, selection: Selection = EVERY_RULE) -> tuple[Diagnostic, ...]:
    """Every finding of ``scenario`` that the selection and the waivers keep,
    in a stable order (environment, file, line, code).

    Per environment: the reader's and the graph's findings (``integrity``),
    then every unit's check in code order.  A check reports only its own
    code, so a rule the selection leaves out is not run at all."""
    found: list[Diagnostic] = []
    for env in scenario.environments():
        found.extend(integrity(scenario, env))
        for rule, check in CHECKED_RULES:
            if selection.allows(rule.code, rule.name):
                found.extend(check(scenario, env))
    waivers = _Waivers(scenario)
    kept = [d for d in found if selection.allows(d.code, d.name) and not waivers.waived(d)]
    return tuple(sorted(dict.fromkeys(kept), key=_order))


def _order(item: Diagnostic) -> tuple[str, str, int, str]:
    location = item.location
    path = str(location.path) if location else ""
    return (item.environment, path, location.line if location else 0, item.code)


class _Waivers:
    """The waivers of the checked side and ours: only the migrations that write
    one are looked at (found once per environment, not per finding)."""

    def __init__(self, scenario: MergeScenario) -> None:
        self.scenario = scenario
        self.by_env: dict[str, list[MigrationScript]] = {}

    def waiving(self, env: str) -> list[MigrationScript]:
        found = self.by_env.get(env)
        if found is None:
            found = self.by_env[env] = []
            for side in (self.scenario.checked, self.scenario.ours):
                read = side.reads.get(env)
                if read is not None:
                    found.extend(s for s in read.scripts if s.ignores)
        return found

    def waived(self, item: Diagnostic) -> bool:
        """True when a migration the finding is about waives its code or name."""
        patterns: list[str] = []
        for script in self.waiving(item.environment):
            about = item.location is not None and script.path == item.location.path
            if about or script.revision in item.revisions:
                patterns.extend(script.ignores)
        return any(matches(p, item.code, item.name) for p in patterns)
