"""What a rule unit declares: ``RULE = Rule(CODE, what=..., why=..., fix=...,
examples=..., check=...)`` in ``mergeguard/rules/mgNNN_<name>.py``.

``check`` finds the rule's findings in one environment of a scenario; it is
None for the codes the reader and the graph report (MG001-MG007) and for
those ``mergeguard apply`` reports (MG3xx).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from mergeguard.codes import Code
from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic, Severity, frozen

if TYPE_CHECKING:  # examples are built by the docs and the tests, never by a check
    from mergeguard.rules.example_kit import Example


def matches(pattern: str, code: str, name: str) -> bool:
    """A selector names a rule by code (``MG102``), prefix (``MG1``) or name
    (in selections and in waivers alike)."""
    pattern = pattern.strip()
    return code.startswith(pattern.upper()) or pattern.lower() == name


Check = Callable[[MergeScenario, str], Iterable[Diagnostic]]


@frozen
class Rule:
    """One rule: its code's facts, the sections of its documentation
    (``mergeguard explain CODE``, docs/rules.md), its examples (also its
    tests) and its check.  ``build_examples`` makes the examples when they are
    asked for: a check runs without importing their building blocks."""

    facts: Code
    what: str
    why: str
    fix: str
    build_examples: Callable[[], tuple[Example, ...]] = tuple
    check: Check | None = None

    @property
    def examples(self) -> tuple[Example, ...]:
        return self.build_examples()

    @property
    def code(self) -> str:
        return self.facts.code

    @property
    def name(self) -> str:
        return self.facts.name

    @property
    def severity(self) -> Severity:
        return self.facts.severity

    @property
    def summary(self) -> str:
        return self.facts.summary
