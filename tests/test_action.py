"""The GitHub Action (``action.yml``) and the example workflow (issue 9, item 12).

``action.yml`` is read as YAML and its structure asserted; then the shell
script of its check step runs here with bash, in a real repository with a bare
``origin``, with the environment GitHub would give it: the step's ``env:``
with its ``${{ }}`` expressions evaluated from an event's context, and
GITHUB_EVENT_NAME, GITHUB_REF_NAME, GITHUB_STEP_SUMMARY and GITHUB_OUTPUT
pointing at temporary files.  The install step is not run (it would need the
package index); its command is asserted instead.
"""

from __future__ import annotations

import os
import re
import subprocess
import sysconfig
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import GIT_ENV, RepoBuilder

ROOT = Path(__file__).resolve().parents[1]
EXPRESSION = re.compile(r"\$\{\{\s*([^}]+?)\s*\}\}")


def action() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "action.yml").read_text())
    assert isinstance(document, dict)
    return document


def step(name: str) -> dict[str, Any]:
    [found] = [s for s in action()["runs"]["steps"] if s.get("name") == name]
    return found  # type: ignore[no-any-return]


def evaluate(value: str, context: Mapping[str, str]) -> str:
    """``${{ a.b }}`` as GitHub evaluates it for this test: a context lookup
    (missing keys are empty, as null is); inputs fall back to their defaults."""

    def lookup(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in context:
            return context[key]
        if key.startswith("inputs."):
            default = action()["inputs"][key.removeprefix("inputs.")].get("default", "")
            return evaluate(str(default), context)
        return ""

    return EXPRESSION.sub(lookup, value)


# -- structure -------------------------------------------------------------------


def test_action_is_a_composite_with_the_documented_inputs() -> None:
    document = action()
    assert document["name"] == "mergeguard" and document["description"]
    inputs = document["inputs"]
    assert inputs["python-version"]["default"] == "3.12"
    assert inputs["base"]["default"] == "${{ github.base_ref }}"
    assert inputs["args"]["default"] == "" and inputs["install"]["default"] == ""
    assert all(item["required"] is False for item in inputs.values())
    assert document["outputs"]["exit-code"]["value"] == "${{ steps.check.outputs.exit-code }}"
    runs = document["runs"]
    assert runs["using"] == "composite"
    setup, install, check = runs["steps"]
    assert setup["uses"].startswith("actions/setup-python@v")
    assert setup["with"] == {"python-version": "${{ inputs.python-version }}"}
    assert "pip install" in install["run"] and "$MERGEGUARD_ACTION_PATH" in install["run"]
    assert install["env"]["MERGEGUARD_ACTION_PATH"] == "${{ github.action_path }}"
    assert "mergeguard check" in check["run"] and "--format github" in check["run"]
    assert check["env"]["MERGEGUARD_MERGE_GROUP_BASE"] == (
        "${{ github.event.merge_group.base_ref }}"
    )
    for each in (install, check):
        assert each["shell"] == "bash"
        assert "${{" not in each["run"]  # values reach the script through env only


def test_workflow_example_runs_on_pull_requests_and_the_merge_queue() -> None:
    workflow = yaml.safe_load((ROOT / "docs" / "github-workflow.yml").read_text())
    events = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in events and "merge_group" in events
    steps = workflow["jobs"]["mergeguard"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    assert steps[0]["with"]["fetch-depth"] == 0
    assert steps[1]["uses"] == "<owner>/mergeguard@v1"
    readme = (ROOT / "README.md").read_text()
    assert "uses: <owner>/mergeguard@v1" in readme and "fetch-depth: 0" in readme


# -- the check step, run ------------------------------------------------------------


@pytest.fixture
def cloned(repo: RepoBuilder, tmp_path: Path) -> RepoBuilder:
    """main adds ccc3 and feature adds bbb2, both on aaa1 (MG102 when merged);
    both pushed to a bare origin; a CI-style clone with feature checked out."""
    repo.init_alembic()
    repo.migration("aaa1", None)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("bbb2", "aaa1", message="add email")
    repo.commit("add email")
    repo.checkout("main")
    repo.migration("ccc3", "aaa1", message="add phone")
    repo.commit("add phone")
    ci = ci_clone(repo, tmp_path)
    ci.checkout("feature")
    return ci


def ci_clone(repo: RepoBuilder, tmp_path: Path) -> RepoBuilder:
    """``repo`` pushed to a bare origin and cloned from there, as CI clones."""
    origin = tmp_path / "origin.git"
    repo.git("clone", "--quiet", "--bare", str(repo.root), str(origin))
    clone = tmp_path / "ci"
    subprocess.run(
        ["git", "clone", "--quiet", str(origin), str(clone)],
        check=True,
        env={**os.environ, **GIT_ENV},
    )
    ci = RepoBuilder.__new__(RepoBuilder)
    ci.root = clone
    return ci


def run_check_step(
    ci: RepoBuilder, tmp_path: Path, event: str, context: Mapping[str, str], ref_name: str
) -> tuple[subprocess.CompletedProcess[str], str, str]:
    check = step("Check the revision graph")
    summary, output = tmp_path / "summary.md", tmp_path / "output.txt"
    summary.write_text("## an earlier step's summary\n")
    output.write_text("")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PRE_COMMIT", "GIT_"))
    }
    env.update(GIT_ENV)
    env.update({key: evaluate(str(value), context) for key, value in check["env"].items()})
    env.update(
        {
            "GITHUB_EVENT_NAME": event,
            "GITHUB_REF_NAME": ref_name,
            "GITHUB_BASE_REF": context.get("github.base_ref", ""),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
            "NO_COLOR": "1",
            # this interpreter's `mergeguard`, as the install step would leave it
            "PATH": os.pathsep.join([sysconfig.get_path("scripts"), env.get("PATH", "")]),
        }
    )
    # GitHub's composite `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`
    script = tmp_path / "step.sh"
    script.write_text(check["run"])
    result = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=ci.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return result, summary.read_text(), output.read_text()


GITHUB = {"github.event.repository.default_branch": "main"}


def test_pull_request_annotates_and_writes_the_summary(cloned: RepoBuilder, tmp_path: Path) -> None:
    context = {**GITHUB, "github.base_ref": "main"}
    result, summary, output = run_check_step(cloned, tmp_path, "pull_request", context, "1/merge")
    assert result.returncode == 1, result.stderr
    assert "mergeguard check origin/main..HEAD" in result.stderr
    [annotation] = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert annotation.startswith("::error file=migrations/versions/bbb2_migration.py,")
    assert "title=MG102 missing-merge-point" in annotation
    assert summary.startswith("## an earlier step's summary\n\n### mergeguard: 1 error")
    assert "| :x: error | MG102 `missing-merge-point` |" in summary
    assert output == "exit-code=1\n"


def test_merge_group_takes_the_queue_base(cloned: RepoBuilder, tmp_path: Path) -> None:
    context = {**GITHUB, "github.event.merge_group.base_ref": "refs/heads/main"}
    result, summary, output = run_check_step(
        cloned, tmp_path, "merge_group", context, "gh-readonly-queue/main/pr-1-abc"
    )
    assert result.returncode == 1, result.stderr
    assert "mergeguard check origin/main..HEAD" in result.stderr
    assert "MG102" in result.stdout and "### mergeguard: 1 error" in summary
    assert output == "exit-code=1\n"


def test_push_of_a_branch_checks_against_the_default_branch(
    cloned: RepoBuilder, tmp_path: Path
) -> None:
    result, _, _ = run_check_step(cloned, tmp_path, "push", GITHUB, "feature")
    assert result.returncode == 1 and "origin/main..HEAD" in result.stderr
    assert "MG102" in result.stdout


def test_push_to_the_default_branch_checks_what_the_push_added(
    cloned: RepoBuilder, tmp_path: Path
) -> None:
    cloned.checkout("main")
    before = cloned.git("rev-parse", "HEAD~1")
    context = {**GITHUB, "github.event.before": before}
    result, summary, output = run_check_step(cloned, tmp_path, "push", context, "main")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"mergeguard check {before}..HEAD" in result.stderr
    assert "### mergeguard: no problems" in summary and output == "exit-code=0\n"


def test_extra_args_and_a_could_not_run_error(cloned: RepoBuilder, tmp_path: Path) -> None:
    context = {**GITHUB, "github.base_ref": "main", "inputs.args": "--select MG2"}
    result, summary, _ = run_check_step(cloned, tmp_path, "pull_request", context, "1/merge")
    assert result.returncode == 0, result.stdout + result.stderr  # MG102 not selected

    context = {**GITHUB, "github.base_ref": "no-such-branch"}
    result, summary, output = run_check_step(cloned, tmp_path, "pull_request", context, "1/merge")
    assert result.returncode == 3
    assert result.stdout.startswith("::error title=mergeguard could not run::unknown git ref")
    assert "### mergeguard could not run" in summary and "origin/no-such-branch" in summary
    assert output == "exit-code=3\n"
