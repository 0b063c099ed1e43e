"""The rule catalogue: every code mergeguard can report (codes are contract),
assembled from the rule units.

Each rule is one module ``mergeguard/rules/mgNNN_<name>.py`` holding ``RULE``
(its code's facts, What/Why/Fix, examples and check); the catalogue finds
them, so adding a rule is adding a unit.  ``RULES`` is in code order.
"""

from __future__ import annotations

import importlib
import os
import re

import mergeguard.rules
from mergeguard.rules.rule import Rule

__all__ = ["BY_CODE", "RULES", "Rule", "find_rule", "unit_modules"]

UNIT = re.compile(r"(mg\d{3}_\w+)\.py")


def unit_modules() -> tuple[str, ...]:
    """The names of the rule units in this package, sorted: its directory
    listed (pkgutil's listing, which every run would pay for, finds the same
    source files)."""
    found = (
        UNIT.fullmatch(name) for path in mergeguard.rules.__path__ for name in os.listdir(path)
    )
    return tuple(sorted({match[1] for match in found if match}))


def _discover() -> tuple[Rule, ...]:
    units = [importlib.import_module(f"mergeguard.rules.{name}") for name in unit_modules()]
    rules: list[Rule] = [unit.RULE for unit in units]
    return tuple(sorted(rules, key=lambda rule: rule.code))


RULES: tuple[Rule, ...] = _discover()
BY_CODE: dict[str, Rule] = {rule.code: rule for rule in RULES}


def find_rule(selector: str) -> Rule | None:
    """The rule named by a code (any case) or a kebab-case name."""
    wanted = selector.strip()
    return BY_CODE.get(wanted.upper()) or next((r for r in RULES if r.name == wanted), None)
