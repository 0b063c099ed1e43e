"""The pipeline value: ``check(request) -> Report``, rendered by one ``render``."""

from __future__ import annotations

import pytest
from conftest import RepoBuilder
from test_formats import RANGE_SPEC, diverged, run

from mergeguard.app.options import Options
from mergeguard.app.pipeline import CheckRequest, check
from mergeguard.model import Counts, Diagnostic
from mergeguard.report.render import FORMATS, render


def test_counts_are_taken_once_by_severity() -> None:
    found = [Diagnostic("MG102", "x", "error", "m"), Diagnostic("MG104", "y", "warning", "m")]
    assert Counts.of(found * 2) == Counts(errors=2, warnings=2)
    assert Counts.of([]) == Counts(0, 0)


@pytest.mark.parametrize("fmt", [f for f in FORMATS if f != "text"])
def test_the_cli_prints_what_render_makes_of_the_report(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, fmt: str
) -> None:
    diverged(repo)
    report = check(
        CheckRequest(Options(repo.root), RANGE_SPEC, schema_changes=True, charts=fmt == "markdown")
    )
    assert [d.code for d in report.diagnostics] == ["MG102"]
    assert report.failed and report.counts == Counts(errors=1, warnings=0)
    assert (report.scenario.theirs.label, report.scenario.ours.label) == ("main", "feature")
    [environment] = report.environments
    assert sorted(environment.heads) == ["ccc3"]  # the checked side: feature
    code, out, _ = run(capsys, "check", RANGE_SPEC, "-C", str(repo.root), "--format", fmt)
    assert code == 1 and out == render(fmt, report)
