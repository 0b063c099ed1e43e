"""The rule units: one module per rule, each with exactly one ``RULE`` whose
code matches its file name, and the catalogue made of exactly those units."""

from __future__ import annotations

import importlib
import re
from types import ModuleType

import pytest

from mergeguard import codes
from mergeguard.rules.catalogue import BY_CODE, RULES, unit_modules
from mergeguard.rules.rule import Rule

UNITS = unit_modules()


def unit(name: str) -> ModuleType:
    return importlib.import_module(f"mergeguard.rules.{name}")


def test_every_published_code_has_its_unit() -> None:
    # the codes are contract: a unit disappearing (or a file misnamed so the
    # catalogue skips it) must fail here; a new unit needs no change here
    published = [f"MG00{i}" for i in range(1, 9)]
    published += [f"MG10{i}" for i in range(1, 7)] + [f"MG20{i}" for i in range(1, 6)]
    published += [f"MG30{i}" for i in range(1, 5)] + [f"MG40{i}" for i in range(1, 4)]
    assert set(published) <= set(BY_CODE)
    assert [r.code for r in RULES] == sorted(BY_CODE)


@pytest.mark.parametrize("name", UNITS)
def test_a_unit_holds_exactly_one_rule_named_by_its_file(name: str) -> None:
    module = unit(name)
    rules = [value for value in vars(module).values() if isinstance(value, Rule)]
    assert rules == [module.RULE]
    rule: Rule = module.RULE
    assert name == f"mg{rule.code[2:]}_{rule.name.replace('-', '_')}"
    assert re.fullmatch(r"MG\d{3}", rule.code) and rule.what and rule.why and rule.fix


@pytest.mark.parametrize("name", UNITS)
def test_core_codes_come_from_the_ground(name: str) -> None:
    rule: Rule = unit(name).RULE
    if rule.code < "MG100":  # reported by parse/ and graph/, which cannot import rules/
        assert rule.facts is getattr(codes, rule.code)
    if rule.code < "MG008" or "MG300" <= rule.code < "MG400":
        assert rule.check is None, "reported by the reader/graph or by apply"
    else:
        assert rule.check is not None


def test_the_catalogue_is_the_set_of_units() -> None:
    assert [unit(name).RULE for name in UNITS] == list(RULES)
    assert len(BY_CODE) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)


def test_database_units_hold_their_hints() -> None:
    from mergeguard.scratchdb.judge import HINTS

    for rule in RULES:
        if "MG300" <= rule.code < "MG400":
            hint = unit(f"mg{rule.code[2:]}_{rule.name.replace('-', '_')}").HINT
            assert hint and HINTS[rule.code] == hint
