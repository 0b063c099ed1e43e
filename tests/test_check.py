"""``mergeguard check`` in every state a repository can be in, on real git."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RepoBuilder

from mergeguard.app.cli import main


def diverge(repo: RepoBuilder, style: str = "plain") -> None:
    """main and feature each add a revision on a1 (feature checked out: main)."""
    repo.init_alembic()
    repo.migration("a1", None, style=style)
    repo.commit("base")
    repo.branch("feature")
    repo.migration("c7", "a1", style=style, message="add email")
    repo.commit("feature")
    repo.checkout("main")
    repo.migration("b2", "a1", style=style, message="add phone")
    repo.commit("main")


def check(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["check", *args, "-C", str(repo.root), "--format", "json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def codes(document: dict) -> list[str]:  # type: ignore[type-arg]
    return sorted(f["code"] for f in document["findings"])


def test_diverged_branches_before_merging(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(repo, style)
    code, document = check(capsys, repo, "main..feature")
    assert code == 1 and codes(document) == ["MG102"]
    [finding] = document["findings"]
    assert set(finding["revisions"]) == {"b2", "c7"}
    assert "c7_migration.py" in finding["message"] and "b2_migration.py" in finding["message"]
    assert "a1" in finding["message"]  # the fork point
    assert "fix --rebase main..feature" in finding["hint"] and "fix --merge" in finding["hint"]
    assert finding["path"] == "migrations/versions/c7_migration.py"
    assert document["range"]["base"] == repo.git("merge-base", "main", "feature")
    assert document["range"]["ours"] == repo.git("rev-parse", "feature")
    assert check(capsys, repo, "main...feature") == (code, document)
    code, document = check(capsys, repo, "feature..main")
    assert code == 1 and codes(document) == ["MG102"]


def test_after_a_merge_without_merge_revision(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(repo)
    repo.git("merge", "-q", "--no-edit", "feature")
    code, document = check(capsys, repo)
    assert code == 1 and codes(document) == ["MG101"]
    assert "fix --merge" in document["findings"][0]["hint"]
    code, document = check(capsys, repo, "HEAD~1..HEAD")
    assert code == 1 and codes(document) == ["MG101"]
    assert document["findings"][0]["severity"] == "error"


def test_merge_in_progress(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    diverge(repo)
    repo.git("merge", "-q", "--no-commit", "--no-ff", "feature")
    code, document = check(capsys, repo)
    assert code == 1 and codes(document) == ["MG102"]
    assert document["scenario"]["kind"] == "merge"
    assert "mergeguard fix --merge" in document["findings"][0]["hint"]
    repo.migration("m1", ("b2", "c7"))  # the merge revision, written by hand
    code, document = check(capsys, repo)
    assert (code, codes(document)) == (0, [])


def test_branch_on_mains_head_is_clean(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.migration("a1", None, style=style)
    repo.migration("b2", "a1", style=style)
    repo.commit()
    repo.branch("feature")
    repo.migration("c3", "b2", style=style)
    repo.commit()
    assert check(capsys, repo, "main..feature")[0] == 0
    assert check(capsys, repo, "main..HEAD")[0] == 0
    assert check(capsys, repo)[0] == 0


def test_labelled_independent_heads_pass_but_not_two_in_one_label(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.migration("a1", None)
    repo.migration("e1", None, branch_labels="expand")
    repo.migration("k1", None, branch_labels="contract", depends_on="e1")
    repo.commit()
    repo.branch("feature")
    repo.migration("e2", "e1")
    repo.migration("k2", "k1")
    repo.commit()
    assert check(capsys, repo, "main..feature")[0] == 0
    repo.migration("e3", "e1")
    repo.commit()
    code, document = check(capsys, repo, "main..feature")
    assert code == 1 and codes(document) == ["MG101"]
    assert "expand" in document["findings"][0]["message"]


def test_heads_already_on_main_are_one_warning(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.migration("a1", None)
    repo.migration("b2", "a1")
    repo.migration("c3", "a1")
    repo.commit()
    repo.branch("feature")
    repo.write("README", "unrelated change")
    repo.commit()
    code, document = check(capsys, repo, "main..feature")
    assert code == 0 and codes(document) == ["MG101"]
    assert document["findings"][0]["severity"] == "warning"
    assert "already on main" in document["findings"][0]["message"]
    repo.migration("d4", "a1")
    repo.commit()
    code, document = check(capsys, repo, "main..feature")
    assert code == 1 and document["findings"][0]["severity"] == "error"


def test_shallow_clone_without_merge_base_is_exit_3(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(repo)
    shallow = tmp_path / "shallow"
    repo.git(
        "clone", "-q", "--depth", "1", "--no-single-branch", f"file://{repo.root}", str(shallow)
    )
    code = main(["check", "origin/main..origin/feature", "-C", str(shallow)])
    _, err = capsys.readouterr()
    assert code == 3 and "shallow" in err and "fetch-depth: 0" in err
    assert "Traceback" not in err


def test_unknown_ref_and_unknown_rule(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(repo)
    assert main(["check", "main..nope", "-C", str(repo.root)]) == 3
    assert "nope" in capsys.readouterr().err
    assert main(["check", "main..feature", "--select", "MG999", "-C", str(repo.root)]) == 2
    assert "MG999" in capsys.readouterr().err


def test_select_ignore_and_configuration(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(repo)
    assert check(capsys, repo, "main..feature", "--ignore", "MG102")[0] == 0
    assert check(capsys, repo, "main..feature", "--ignore", "missing-merge-point")[0] == 0
    assert check(capsys, repo, "main..feature", "--select", "MG0")[0] == 0
    assert check(capsys, repo, "main..feature", "--select", "MG1,MG0")[0] == 1
    repo.write("pyproject.toml", '[tool.mergeguard]\nignore = ["MG1"]\n')
    repo.commit()
    assert check(capsys, repo, "main..feature")[0] == 0
    assert check(capsys, repo, "main..feature", "--select", "MG102")[0] == 1


def test_waiver_comment_on_the_down_revision_line(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(repo)
    repo.checkout("feature")
    path = repo.root / "migrations/versions/c7_migration.py"
    path.write_text(
        path.read_text().replace(
            "down_revision = 'a1'", "down_revision = 'a1'  # mergeguard: ignore[MG102]"
        )
    )
    repo.commit("waive")
    assert check(capsys, repo, "main..feature")[0] == 0
    path.write_text(path.read_text().replace("ignore[MG102]", "ignore[MG104]"))
    repo.commit("wrong waiver")
    assert check(capsys, repo, "main..feature")[0] == 1


def test_working_tree_against_a_base(
    repo: RepoBuilder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(repo)
    repo.checkout("feature")
    # without a remote, a local main is the branch the work merges into
    code, document = check(capsys, repo)
    assert code == 1 and codes(document) == ["MG102"]
    repo.git("branch", "-m", "main", "trunk")
    assert check(capsys, repo)[0] == 0  # no base known: the tree alone is fine
    repo.git("branch", "-m", "trunk", "main")
    code, document = check(capsys, repo, "--base", "main")
    assert code == 1 and codes(document) == ["MG102"]
    assert check(capsys, repo, "main")[0] == 1  # a single ref is the base
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    repo.git("update-ref", "refs/remotes/origin/main", "main")
    assert check(capsys, repo)[0] == 1
    monkeypatch.delenv("GITHUB_BASE_REF")
    repo.write("pyproject.toml", '[tool.mergeguard]\nbase = "main"\n')
    assert check(capsys, repo)[0] == 1


def test_pre_push_refs_from_pre_commit(
    repo: RepoBuilder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    diverge(repo)
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", repo.git("rev-parse", "main"))
    monkeypatch.setenv("PRE_COMMIT_TO_REF", repo.git("rev-parse", "feature"))
    code, document = check(capsys, repo)
    assert code == 1 and codes(document) == ["MG102"]
    monkeypatch.setenv("PRE_COMMIT_FROM_REF", "0" * 40)  # a new remote branch: against main
    code, document = check(capsys, repo)
    assert code == 1 and codes(document) == ["MG102"]
    repo.git("branch", "-m", "main", "trunk")  # no branch to merge into is known
    assert check(capsys, repo)[0] == 0


def test_staged_index_is_checked(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    repo.init_alembic()
    repo.migration("a1", None)
    repo.commit()
    repo.migration("b2", "a1")
    repo.migration("c3", "a1")
    repo.git("add", "migrations/versions/b2_migration.py")
    assert check(capsys, repo, "--staged")[0] == 0
    assert check(capsys, repo)[0] == 1
    repo.git("add", "-A")
    assert check(capsys, repo, "--staged")[0] == 1


def test_drift_and_old_problems_only_where_the_range_touched(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.migration("a1", None)
    old = repo.migration("b2", "a1")
    (repo.root / old).write_text(
        (repo.root / old).read_text().replace("Revises: a1", "Revises: zz")
    )
    repo.write("migrations/versions/broken.py", "def helper(:\n")
    repo.commit()
    repo.branch("feature")
    new = repo.migration("c3", "b2")
    (repo.root / new).write_text(
        (repo.root / new).read_text().replace("Revises: b2", "Revises: a1")
    )
    repo.commit()
    code, document = check(capsys, repo, "main..feature")
    assert code == 0 and codes(document) == ["MG008"]
    [drift] = document["findings"]
    assert drift["path"] == new and drift["severity"] == "warning"
    assert (repo.root / new).read_text().splitlines()[drift["line"] - 1].startswith("Revises:")


def test_deleting_a_parent_breaks_an_untouched_child(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.migration("a1", None)
    parent = repo.migration("b2", "a1")
    repo.migration("c3", "b2")
    repo.commit()
    repo.branch("feature")
    repo.remove(parent)
    repo.commit()
    code, document = check(capsys, repo, "main..feature")
    assert code == 1 and codes(document) == ["MG004", "MG103"]


def test_text_output_and_summary(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    diverge(repo)
    code = main(["check", "main..feature", "-C", str(repo.root)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out.startswith("migrations/versions/c7_migration.py:")
    assert "MG102 missing-merge-point [alembic]" in out and "hint:" in out
    assert "1 error" in err and "main..feature" in err and "\x1b[" not in out


def test_under_pre_commit_the_index_settings_apply(
    repo: RepoBuilder, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What is being committed decides, settings included: the staged
    pyproject ignores MG1, the working tree's copy does not."""
    repo.init_alembic()
    repo.migration("a1", None)
    repo.commit()
    repo.migration("b2", "a1")
    repo.migration("c3", "a1")
    repo.write("pyproject.toml", '[tool.mergeguard]\nignore = ["MG1"]\n')
    repo.git("add", "-A")
    repo.write("pyproject.toml", "[tool.mergeguard]\n")  # unstaged edit
    monkeypatch.setenv("PRE_COMMIT", "1")
    assert check(capsys, repo)[0] == 0
    monkeypatch.delenv("PRE_COMMIT")
    assert check(capsys, repo)[0] == 1
    assert check(capsys, repo, "--staged")[0] == 0
