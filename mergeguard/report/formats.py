"""CI formats of ``check`` findings: GitHub annotations, SARIF, Markdown.

Each format lives in its own module (``github``, ``sarif``, ``markdown``);
this one picks the renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mergeguard.model import Diagnostic
from mergeguard.report import github, markdown, sarif
from mergeguard.scenario import MergeScenario

Renderer = Callable[[MergeScenario, Sequence[Diagnostic]], str]

RENDERERS: dict[str, Renderer] = {
    "github": github.render,
    "sarif": sarif.render,
    "markdown": markdown.render,
}


def render(fmt: str, scenario: MergeScenario, diagnostics: Sequence[Diagnostic]) -> str:
    """The findings in ``fmt`` (github, sarif or markdown) as the exact text to
    print, ending in a newline unless empty; ValueError for any other format."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(RENDERERS)}")
    return renderer(scenario, diagnostics)
