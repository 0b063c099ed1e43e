"""CI formats of ``check`` findings: GitHub annotations, SARIF, Markdown.

Each format lives in its own module (``github``, ``sarif``, ``markdown``);
this one picks the renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from mergeguard.graph.scenario import MergeScenario
from mergeguard.model import Diagnostic
from mergeguard.report import github, markdown, sarif

Changes = Mapping[str, Mapping[str, list[str]]]
Renderer = Callable[[MergeScenario, Sequence[Diagnostic], Changes], str]

RENDERERS: dict[str, Renderer] = {
    "github": lambda scenario, diagnostics, _: github.render(scenario, diagnostics),
    "sarif": lambda scenario, diagnostics, _: sarif.render(scenario, diagnostics),
    "markdown": markdown.render,
}


def render(
    fmt: str,
    scenario: MergeScenario,
    diagnostics: Sequence[Diagnostic],
    changes: Changes | None = None,
) -> str:
    """The findings in ``fmt`` (github, sarif or markdown) as the exact text to
    print, ending in a newline unless empty; ``changes`` is what each side does
    to the schema (markdown shows it).  ValueError for any other format."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(RENDERERS)}")
    return renderer(scenario, diagnostics, changes or {})
