"""CI formats of ``check`` findings: GitHub annotations, SARIF, Markdown."""

from __future__ import annotations

from collections.abc import Sequence

from mergeguard.model import Diagnostic
from mergeguard.scenario import MergeScenario


def render(fmt: str, scenario: MergeScenario, diagnostics: Sequence[Diagnostic]) -> str:
    """The findings in ``fmt`` (github, sarif or markdown)."""
    raise NotImplementedError(fmt)
