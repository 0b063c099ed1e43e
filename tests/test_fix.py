"""``mergeguard fix`` on real repositories, with real Alembic as the judge."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import RepoBuilder
from conftest import alembic_project as project
from conftest import alembic_revision as revision
from conftest import run_alembic as alembic

from mergeguard.app.cli import main


def diverged(repo: RepoBuilder, template: str = "generic") -> None:
    """main: a1 <- b2; feature: a1 <- c7; main checked out."""
    project(repo, template)
    repo.branch("feature")
    revision(repo, "c7", "add email")
    repo.commit("feature")
    repo.checkout("main")
    revision(repo, "b2", "add phone")
    repo.commit("main")


def fix(capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str) -> tuple[int, str, str]:
    code = main(["fix", *args, "-C", str(repo.root)])
    out, err = capsys.readouterr()
    return code, out, err


def check(
    capsys: pytest.CaptureFixture[str], repo: RepoBuilder, *args: str
) -> tuple[int, list[str]]:
    code = main(["check", *args, "-C", str(repo.root), "--format", "json"])
    findings = json.loads(capsys.readouterr().out)["findings"]
    return code, sorted(f["code"] for f in findings if f["severity"] == "error")


def heads(repo: RepoBuilder) -> list[str]:
    result = alembic(repo, "heads")
    assert result.returncode == 0, result.stderr
    return [line.split()[0] for line in result.stdout.splitlines()]


@pytest.mark.parametrize("template", ["generic", "pyproject"])
def test_merge_after_a_merge_commit(
    repo: RepoBuilder, template: str, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo, template)
    repo.git("merge", "-q", "--no-edit", "feature")
    assert sorted(heads(repo)) == ["b2", "c7"]
    code, _, err = fix(capsys, repo, "--merge", "-m", "merge heads", "--rev-id", "m1")
    assert code == 0 and "joins b2, c7" in err
    assert heads(repo) == ["m1"]
    upgrade = alembic(repo, "upgrade", "head")
    assert upgrade.returncode == 0, upgrade.stderr
    assert check(capsys, repo) == (0, [])
    # byte-identical to `alembic merge` on the same project, apart from the Create Date
    ours = next((repo.root / "migrations" / "versions").glob("m1_*.py"))
    mine = ours.read_text()
    ours.unlink()
    result = alembic(repo, "merge", "-m", "merge heads", "--rev-id", "m1", "heads")
    assert result.returncode == 0, result.stderr
    theirs = next((repo.root / "migrations" / "versions").glob("m1_*.py"))
    assert theirs.name == ours.name

    def dated(text: str) -> list[str]:
        return [line for line in text.splitlines() if not line.startswith("Create Date:")]

    assert dated(theirs.read_text()) == dated(mine)


def test_merge_in_progress_with_another_file_conflicted(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    project(repo)
    repo.write("README", "base\n")
    repo.commit("readme")
    repo.branch("feature")
    revision(repo, "c7", "add email")
    repo.write("README", "feature\n")
    repo.commit("feature")
    repo.checkout("main")
    revision(repo, "b2", "add phone")
    repo.write("README", "main\n")
    repo.commit("main")
    repo.git("merge", "-q", "--no-edit", "feature", check=False)
    assert (repo.root / ".git" / "MERGE_HEAD").exists()
    code, _, err = fix(capsys, repo, "--merge", "--rev-id", "m1")
    assert code == 0, err
    assert heads(repo) == ["m1"]
    assert "<<<<<<<" in (repo.root / "README").read_text()  # untouched: git's conflict stays


def test_merge_for_a_range_on_a_feature_branch(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    repo.checkout("feature")
    code, _, err = fix(capsys, repo, "--merge", "main..feature", "--rev-id", "m1")
    assert code == 0, err
    repo.commit("merge revision")
    assert check(capsys, repo, "main..feature") == (0, [])
    repo.git("merge", "-q", "--no-edit", "main")
    assert heads(repo) == ["m1"] and check(capsys, repo) == (0, [])


def test_rebase_moves_the_branch_onto_mains_head(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    repo.checkout("feature")
    path = next((repo.root / "migrations" / "versions").glob("c7_*.py"))
    before = path.read_text()
    code, _, err = fix(capsys, repo, "--rebase", "main..feature")
    assert code == 0, err
    after = path.read_text()
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed == [
        ("Revises: a1", "Revises: b2"),
        (
            "down_revision: Union[str, Sequence[str], None] = 'a1'",
            "down_revision: Union[str, Sequence[str], None] = 'b2'",
        ),
    ]
    repo.commit("rebased")
    assert check(capsys, repo, "main..feature") == (0, [])
    repo.checkout("main")
    repo.git("merge", "-q", "--no-edit", "feature")
    assert heads(repo) == ["c7"]
    assert alembic(repo, "upgrade", "head").returncode == 0


def test_rebase_edits_only_the_line_check_read(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """``main..feature`` reads the committed file; an uncommitted second
    ``down_revision`` in the working tree is a line check never read, so the
    rebase refuses rather than rewrite it (it used to rewrite the last one)."""
    diverged(repo)
    repo.checkout("feature")
    path = next((repo.root / "migrations" / "versions").glob("c7_*.py"))
    edited = path.read_text() + "down_revision = 'a1'  # restated\n"
    path.write_text(edited)
    code, _, err = fix(capsys, repo, "--rebase", "main..feature")
    assert code != 0
    assert "this file changed since mergeguard read it" in err
    assert path.read_text() == edited


def test_rebase_a_chain_with_its_own_merge_and_two_roots(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    project(repo)
    repo.branch("feature")
    revision(repo, "c7", "add email", head="a1")
    revision(repo, "d8", "add phone", head="a1")
    assert alembic(repo, "merge", "-m", "join", "--rev-id", "m5", "heads").returncode == 0
    repo.commit("feature")
    repo.checkout("main")
    revision(repo, "b2", "add name")
    repo.commit("main")
    repo.checkout("feature")
    code, _, err = fix(capsys, repo, "--rebase", "main..feature")
    assert code == 0, err
    assert "c7" in err and "d8" in err
    repo.commit("rebased")
    repo.git("merge", "-q", "--no-edit", "main")
    assert heads(repo) == ["m5"]


def test_rebase_refuses_to_rewrite_published_revisions(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    repo.git("merge", "-q", "--no-edit", "feature")  # main merged feature without a merge revision
    repo.branch("topic")
    snapshot = {p: p.read_bytes() for p in (repo.root / "migrations" / "versions").glob("*.py")}
    code, _, err = fix(capsys, repo, "--rebase", "main..HEAD")
    assert code == 1 and "published" in err and "fix --merge" in err
    code, _, err = fix(capsys, repo, "--rebase")
    assert code == 1 and "fix --merge" in err
    assert snapshot == {
        p: p.read_bytes() for p in (repo.root / "migrations" / "versions").glob("*.py")
    }


def test_rebase_needs_the_branch_checked_out(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    code, _, err = fix(capsys, repo, "--rebase", "main..feature")
    assert code == 3 and "git switch feature" in err


def test_rebase_during_a_git_rebase(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    diverged(repo)
    repo.checkout("feature")
    repo.git("rebase", "main", "--exec", "false", check=False)  # stops after replaying c7
    assert (repo.root / ".git" / "rebase-merge").exists()
    code, _, err = fix(capsys, repo, "--rebase")
    assert code == 0, err
    assert "c7" in err
    assert heads(repo) == ["c7"]


def test_dry_run_writes_nothing_and_shows_the_diff(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    repo.git("merge", "-q", "--no-edit", "feature")
    code, out, _ = fix(capsys, repo, "--merge", "--dry-run", "--rev-id", "m1")
    assert code == 0 and out.startswith("--- /dev/null\n+++ b/migrations/versions/m1_")
    assert "down_revision: Union[str, Sequence[str], None] = ('b2', 'c7')" in out
    assert not list((repo.root / "migrations" / "versions").glob("m1_*.py"))
    code, out, _ = fix(capsys, repo, "--merge", "--exit-non-zero-on-fix", "--rev-id", "m1")
    assert code == 1 and heads(repo) == ["m1"]
    code, _, err = fix(capsys, repo, "--merge")
    assert code == 0 and "nothing to fix" in err


def test_a_dry_run_shows_the_text_the_run_writes(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """Escape sequences included: the diff is the file's own text, not one
    stripped for a pipe (as click's echo did)."""
    diverged(repo)
    repo.git("merge", "-q", "--no-edit", "feature")
    message = "join \x1b[31mred\x1b[0m"
    code, out, _ = fix(capsys, repo, "--merge", "--dry-run", "--rev-id", "m1", "-m", message)
    assert code == 0 and "\x1b[31m" in out
    assert fix(capsys, repo, "--merge", "--rev-id", "m1", "-m", message)[0] == 0
    [written] = (repo.root / "migrations" / "versions").glob("m1_*.py")
    added = [line[1:] for line in out.splitlines(keepends=True)[3:]]  # after ---, +++, @@
    assert "".join(added) == written.read_text()


def test_merge_refuses_a_template_that_renders_python2(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    """A merge file whose header reads only by recovery is not written."""
    diverged(repo)
    mako = repo.root / "migrations" / "script.py.mako"
    mako.write_text(mako.read_text() + '\nprint "legacy template"\n')
    repo.commit("a Python 2 template")
    repo.git("merge", "-q", "--no-edit", "feature")
    code, _, err = fix(capsys, repo, "--merge", "--rev-id", "m1")
    assert code != 0 and "does not read back" in err
    assert not list((repo.root / "migrations" / "versions").glob("m1_*.py"))


def test_never_overwrites_an_existing_file(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    repo.git("merge", "-q", "--no-edit", "feature")
    taken = repo.root / "migrations" / "versions" / "m1_.py"
    taken.write_text("# someone's notes\n")
    code, _, err = fix(capsys, repo, "--merge", "--rev-id", "m1", "-m", "")
    assert code == 3 and "never overwrites" in err
    assert taken.read_text() == "# someone's notes\n"


def test_schema_conflicts_are_written_into_the_merge_file(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    for branch, rev in (("feature", "c7"), ("main", "b2")):
        repo.checkout(branch)
        path = next((repo.root / "migrations" / "versions").glob(f"{rev}_*.py"))
        path.write_text(
            path.read_text().replace(
                'def upgrade() -> None:\n    """Upgrade schema."""\n    pass',
                "def upgrade() -> None:\n"
                "    op.add_column('users', sa.Column('email', sa.String()))",
            )
        )
        repo.commit(f"{rev} adds email")
    repo.git("merge", "-q", "--no-edit", "feature")
    code, _, err = fix(capsys, repo, "--merge", "--rev-id", "m1")
    assert code == 1 and "MG201" in err
    text = next((repo.root / "migrations" / "versions").glob("m1_*.py")).read_text()
    assert "# mergeguard: the joined branches conflict in the schema" in text and "MG201" in text
    assert heads(repo) == ["m1"]
    os.remove(next((repo.root / "migrations" / "versions").glob("m1_*.py")))
    assert fix(capsys, repo, "--merge", "--rev-id", "m1", "--allow-conflicts")[0] == 0


def test_usage_and_bare_repository(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    diverged(repo)
    assert fix(capsys, repo)[0] == 2
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.root), str(bare))
    assert main(["fix", "--merge", "-C", str(bare)]) == 3
