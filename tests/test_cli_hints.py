"""Messages that work where they are printed (issue 9, item 11): usage errors
for contradictory or malformed arguments, could-not-run errors as GitHub
annotations, and schema findings that point at both sides' files.

The pre-commit side of item 11 (manual-stage fix hooks and the hints naming
them) is in tests/test_hooks.py, next to the other pre-commit stories.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RepoBuilder
from test_formats import assert_valid_sarif

from mergeguard.app.cli import main
from mergeguard.app.scenarios import parse_range
from mergeguard.app.workspace import Options, Workspace
from mergeguard.errors import BadArgument
from mergeguard.report import github
from mergeguard.rules.run import evaluate

ADD_EMAIL = "op.add_column('users', sa.Column('email', sa.String(255)))"
ADD_EMAIL_TOO = "op.add_column('users', sa.Column('email', sa.String(100)))"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def diverged(repo: RepoBuilder) -> None:
    """main adds b2 and feature adds c7, both on a1 and both adding users.email."""
    repo.init_alembic()
    repo.migration("a1", None, upgrade="op.create_table('users', sa.Column('id', sa.Integer()))")
    repo.commit("base")
    repo.branch("feature")
    repo.migration("c7", "a1", upgrade=ADD_EMAIL)
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("b2", "a1", upgrade=ADD_EMAIL_TOO)
    repo.commit("main")


# -- fix --merge --rebase ---------------------------------------------------------


def test_fix_merge_and_rebase_together_is_a_usage_error(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    repo.checkout("feature")
    before = sorted(p.name for p in (repo.root / "migrations" / "versions").iterdir())
    code, out, err = run(
        capsys, "fix", "--merge", "--rebase", "main..feature", "-C", str(repo.root)
    )
    assert code == 2 and out == ""
    assert "--merge and --rebase" in err and "choose one" in err and "Traceback" not in err
    after = sorted(p.name for p in (repo.root / "migrations" / "versions").iterdir())
    assert after == before and repo.git("status", "--porcelain") == ""
    code, _, err = run(capsys, "fix", "--rebase", "--merge", "-C", str(repo.root))
    assert code == 2 and "choose one" in err
    code, _, err = run(capsys, "fix", "-C", str(repo.root))
    assert code == 2 and "choose --merge or --rebase" in err


# -- bad ranges -----------------------------------------------------------------


@pytest.mark.parametrize("spec", ["a..b..c", "main..feature..x", "main....feature", "a...b..c"])
def test_a_range_of_more_than_two_refs_is_a_bad_range(spec: str) -> None:
    with pytest.raises(BadArgument, match="bad range"):
        parse_range(spec)


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("main..feature", ("main", "feature")),
        ("main...feature", ("main", "feature")),
        ("..feature", ("HEAD", "feature")),
        ("main..", ("main", "HEAD")),
        ("v1.2..v1.3", ("v1.2", "v1.3")),
        ("main", ("main", None)),
    ],
)
def test_good_ranges_still_parse(spec: str, parsed: tuple[str, str | None]) -> None:
    assert parse_range(spec) == parsed


def test_check_a_b_c_says_bad_range_with_exit_2(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    code, out, err = run(capsys, "check", "main..feature..main", "-C", str(repo.root))
    assert code == 2 and out == ""
    assert "bad range `main..feature..main`" in err
    assert "unknown" not in err and "Traceback" not in err


# -- could-not-run as a GitHub annotation ----------------------------------------------


def test_could_not_run_is_an_error_annotation_with_format_github(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    where = ("-C", str(repo.root))
    code, out, err = run(capsys, "check", "nope..feature", *where, "--format", "github")
    assert code == 3 and "unknown git ref 'nope'" in err
    [line] = out.splitlines()
    assert line.startswith("::error title=mergeguard could not run::unknown git ref 'nope'")
    assert "%0A" in line and "\n" not in line.rstrip("\n")  # the hint, escaped onto one line

    code, out, _ = run(capsys, "check", "nope..feature", *where)  # text: stdout stays clean
    assert (code, out) == (3, "")
    code, out, _ = run(capsys, "check", "nope..feature", *where, "--format", "json")
    assert (code, out) == (3, "")


def test_missing_configuration_is_annotated_too(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.write("README.md", "no alembic here\n")
    repo.commit("docs")
    code, out, err = run(capsys, "check", "-C", str(repo.root), "--format", "github")
    assert code == 3 and "no Alembic configuration found" in err
    assert out.startswith("::error title=mergeguard could not run::no Alembic configuration")


def test_could_not_run_annotation_is_escaped_as_the_toolkit_does() -> None:
    line = github.cannot_run("50% of\r\nit: a, b", "run `x`\nthen y")
    assert line == (
        "::error title=mergeguard could not run::50%25 of%0D%0Ait: a, b%0Arun `x`%0Athen y"
    )
    assert github.cannot_run("plain", None) == "::error title=mergeguard could not run::plain"


# -- SARIF relatedLocations --------------------------------------------------------


def test_schema_findings_point_at_the_other_sides_file(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    args = ("check", "main..feature", "-C", str(repo.root), "--select", "MG2")
    code, out, _ = run(capsys, *args, "--format", "json")
    [finding] = json.loads(out)["findings"]
    assert code == 1 and finding["code"] == "MG201"
    ours_path, other_path = (f"migrations/versions/{r}_migration.py" for r in ("c7", "b2"))
    assert finding["path"] == ours_path  # the checked side first, main's file related
    lines = (repo.root / other_path).read_text().splitlines()  # main is checked out
    other_line = lines.index("    " + ADD_EMAIL_TOO) + 1
    assert finding["related"] == [{"path": other_path, "line": other_line}]

    code, out, _ = run(capsys, *args, "--format", "sarif")
    document = json.loads(out)
    assert_valid_sarif(document)
    [result] = document["runs"][0]["results"]
    [related] = result["relatedLocations"]
    physical = related["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": other_path, "uriBaseId": "%SRCROOT%"}
    assert physical["region"]["startLine"] == other_line
    here = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert here == ours_path


def test_topology_findings_have_no_related_field(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    args = ("check", "main..feature", "-C", str(repo.root), "--select", "MG1")
    _, out, _ = run(capsys, *args, "--format", "json")
    [finding] = json.loads(out)["findings"]
    assert finding["code"] == "MG102" and "related" not in finding
    _, out, _ = run(capsys, *args, "--format", "sarif")
    assert "relatedLocations" not in json.loads(out)["runs"][0]["results"][0]


# -- hints under pre-commit ---------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "rebase", "merge"),
    [
        ({}, "`mergeguard fix --rebase main..feature`", "`mergeguard fix --merge main..feature`"),
        (
            {"PRE_COMMIT": "1"},
            "`pre-commit run --hook-stage manual mergeguard-fix-rebase "
            "--from-ref main --to-ref feature`",
            "`pre-commit run --hook-stage manual mergeguard-fix-merge "
            "--from-ref main --to-ref feature`",
        ),
    ],
)
def test_mg102_hint_follows_the_workspace_not_the_process_environment(
    repo: RepoBuilder,
    monkeypatch: pytest.MonkeyPatch,
    environ: dict[str, str],
    rebase: str,
    merge: str,
) -> None:
    """The workspace (the edge) reads PRE_COMMIT; the rules only see the scenario."""
    diverged(repo)
    monkeypatch.setenv("PRE_COMMIT", "0" if environ else "1")  # the opposite, ignored
    workspace = Workspace(Options(repo.root), environ=environ)
    scenario = workspace.scenario("main..feature")
    assert scenario.via_pre_commit is bool(environ)
    [finding] = [d for d in evaluate(scenario) if d.code == "MG102"]
    assert finding.hint is not None and rebase in finding.hint and merge in finding.hint


def test_mg101_hint_under_pre_commit_names_the_manual_merge_hook(repo: RepoBuilder) -> None:
    diverged(repo)
    repo.git("merge", "--no-edit", "feature")
    for environ, command in (
        ({}, "`mergeguard fix --merge`"),
        ({"PRE_COMMIT": "1"}, "`pre-commit run --hook-stage manual mergeguard-fix-merge`"),
    ):
        scenario = Workspace(Options(repo.root), environ=environ).scenario()
        [finding] = [d for d in evaluate(scenario) if d.code == "MG101"]
        assert finding.hint is not None and finding.hint.endswith(command)


# -- check --summary FILE ------------------------------------------------------------


def test_summary_appends_the_markdown_report_in_the_same_run(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    where = ("check", "main..feature", "-C", str(repo.root))
    _, markdown_report, _ = run(capsys, *where, "--format", "markdown")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier\n")
    code, out, _ = run(capsys, *where, "--format", "github", "--summary", str(summary))
    assert code == 1 and out.startswith("::error file=")  # stdout keeps its format
    assert summary.read_text() == "earlier\n\n" + markdown_report
    assert "MG201" in markdown_report and "Schema changes" in markdown_report

    code, _, err = run(capsys, *where, "--summary", str(tmp_path / "no" / "dir" / "s.md"))
    assert code == 3 and "cannot write the summary" in err and "Traceback" not in err
