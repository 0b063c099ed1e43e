"""``mergeguard heads`` / ``graph`` on real repositories, against real Alembic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from conftest import RepoBuilder

from mergeguard.app.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def alembic_facts(root: Path) -> dict[str, object]:
    """What Alembic itself says about the repository's working tree."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = AlembicConfig(str(root / "alembic.ini"))
        script = ScriptDirectory.from_config(cfg)
        rmap = script.revision_map
        revisions = sorted(r.revision for r in script.walk_revisions())
        labels = {
            label: rev.revision
            for rev in script.walk_revisions()
            for label in (rev._orig_branch_labels or ())
        }
        return {
            "heads": sorted(rmap.heads),
            "effective_heads": sorted(rmap._real_heads),
            "bases": sorted(rmap.bases),
            "revisions": revisions,
            "branch_labels": dict(sorted(labels.items())),
        }


def build_rich_history(repo: RepoBuilder, style: str) -> None:
    """Labels, a merge, several bases and depends_on (also on a label)."""
    repo.init_alembic()
    m = repo.migration
    m("a1b2c3d4e5f6", None, style=style, message="create accounts")
    m("b2c3d4e5f6a1", "a1b2c3d4e5f6", style=style)
    m("c3d4e5f6a1b2", "a1b2c3d4e5f6", style=style)
    m("d4e5f6a1b2c3", ("b2c3d4e5f6a1", "c3d4e5f6a1b2"), style=style, message="merge")
    m("e5f6a1b2c3d4", None, style=style, branch_labels="networking", message="networking base")
    m("f6a1b2c3d4e5", "e5f6a1b2c3d4", style=style, depends_on="d4e5f6a1b2c3")
    m("0a1b2c3d4e5f", None, style=style, branch_labels=("shopping", "cart"))
    m("1b2c3d4e5f6a", "0a1b2c3d4e5f", style=style, depends_on="networking")
    m("2c3d4e5f6a1b", "d4e5f6a1b2c3", style=style)
    m("3d4e5f6a1b2c", "2c3d4e5f6a1b", style=style, depends_on=("f6a1b2c3d4e5",))
    repo.commit("history")


def test_heads_json_agrees_with_alembic(
    repo: RepoBuilder, style: str, capsys: pytest.CaptureFixture[str]
) -> None:
    build_rich_history(repo, style)
    code, out, _ = run(capsys, "heads", "-C", str(repo.root), "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["schema"] == "mergeguard/heads/1"
    [env] = document["environments"]
    expected = alembic_facts(repo.root)
    assert {k: env[k] for k in expected} == expected
    assert len(env["heads"]) > len(env["effective_heads"]) >= 2  # the shape is not trivial


def test_heads_text_matches_alembic_heads(repo: RepoBuilder, style: str) -> None:
    build_rich_history(repo, style)
    ours = subprocess.run(
        [sys.executable, "-m", "mergeguard", "heads"],
        cwd=repo.root,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    theirs = subprocess.run(
        [sys.executable, "-m", "alembic", "heads"], cwd=repo.root, capture_output=True, text=True
    )
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == 0, ours.stderr

    def normalise(text: str) -> list[str]:  # Alembic prints a set of labels unordered
        lines = []
        for line in text.splitlines():
            rev, _, rest = line.partition(" (")
            labels = rest.split(")")[0] if not rest.startswith(("head", "effective")) else ""
            lines.append((rev, sorted(labels.split(", ")), line.endswith("(effective head)")))
        return sorted(lines)  # type: ignore[return-value]

    assert normalise(ours.stdout) == normalise(theirs.stdout)


def test_ref_reads_a_commit_without_touching_the_work_tree(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.migration("aaa1", None)
    first = repo.commit("one")
    repo.migration("bbb2", "aaa1")
    repo.commit("two")
    repo.migration("ccc3", "aaa1")  # uncommitted: a second head in the work tree only
    before = {p: p.stat().st_mtime_ns for p in repo.root.rglob("*") if ".git" not in p.parts}
    index = (repo.root / ".git" / "index").read_bytes()

    code, out, _ = run(capsys, "heads", "-C", str(repo.root), "--ref", first)
    assert (code, out) == (0, "aaa1 (head)\n")
    code, out, _ = run(capsys, "heads", "-C", str(repo.root), "--ref", "HEAD")
    assert out == "bbb2 (head)\n"
    code, out, _ = run(capsys, "heads", "-C", str(repo.root))
    assert out.splitlines() == ["bbb2 (head)", "ccc3 (head)"]

    after = {p: p.stat().st_mtime_ns for p in repo.root.rglob("*") if ".git" not in p.parts}
    assert before == after and (repo.root / ".git" / "index").read_bytes() == index


def test_checking_runs_no_migration_code(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A migration that writes a sentinel at import time is read, never run."""
    sentinel = tmp_path / "sentinel"
    payload = (
        f"open({str(sentinel)!r}, 'w').write('ran')\n"
        "import sys; sys.modules['mergeguard_sentinel'] = object()\n"
    )
    repo.init_alembic()
    repo.migration("aaa1", None, prelude=payload, upgrade=payload)
    repo.migration("bbb2", "aaa1", prelude=payload)
    repo.commit()
    for args in (
        ["heads"],
        ["heads", "--format", "json"],
        ["heads", "--ref", "HEAD"],
        ["graph"],
        ["graph", "--format", "json"],
        ["graph", "--format", "dot"],
        ["graph", "--format", "mermaid"],
    ):
        code, out, _ = run(capsys, *args, "-C", str(repo.root))
        assert code == 0 and "bbb2" in out
    result = subprocess.run(
        [sys.executable, "-m", "mergeguard", "heads"], cwd=repo.root, capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout == "bbb2 (head)\n"
    assert not sentinel.exists()
    assert "mergeguard_sentinel" not in sys.modules
    # the oracle does import: proof that the payload works when a file is executed
    alembic_facts(repo.root)
    assert sentinel.read_text() == "ran"


def test_integrity_problems_exit_1_with_file_and_line(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.init_alembic()
    repo.migration("aaa1", None)
    repo.migration("bbb2", "aaa0")
    repo.write("migrations/versions/broken.py", "revision = 'x'\nprint 'py2'\n")
    repo.write("migrations/versions/helpers.py", "def helper():\n    pass\n")
    repo.write("migrations/versions/binary.py", b"\x00\x01\x02\xff")
    repo.write(
        "migrations/versions/dyn.py",
        "revision = 'ddd4'\ndown_revision = get_down_revision(revision)\n",
    )
    repo.write("migrations/versions/__init__.py", "")
    repo.write("migrations/versions/notes.txt", "not python")
    repo.commit()
    code, out, err = run(capsys, "heads", "-C", str(repo.root))
    assert code == 1
    bbb2 = (repo.root / "migrations/versions/bbb2_migration.py").read_text().splitlines()
    line = next(i for i, text in enumerate(bbb2, 1) if text.startswith("down_revision"))
    assert f"migrations/versions/bbb2_migration.py:{line}:1: MG004" in out
    assert "migrations/versions/broken.py:2:1: MG001" in out and "Python 2" in out
    assert "migrations/versions/helpers.py:1:1: MG001" in out
    assert "migrations/versions/binary.py:1:1: MG001" in out and "binary" in out
    assert "migrations/versions/dyn.py:2:1: MG002" in out and "get_down_revision()" in out
    assert "__init__" not in out and "notes.txt" not in out
    assert "hint:" in out and "error" in err
    code, out, _ = run(capsys, "heads", "-C", str(repo.root), "--format", "json")
    findings = json.loads(out)["findings"]
    assert code == 1 and {f["code"] for f in findings} == {"MG001", "MG002", "MG004"}
    assert all(f["environment"] == "alembic" and f["line"] for f in findings)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--ref", "no-such-branch"], "no-such-branch"),
        (["-c", "missing.ini"], "missing.ini"),
        (["-n", "nosection"], "nosection"),
    ],
)
def test_cannot_run_is_exit_3_with_message(
    repo: RepoBuilder, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    repo.init_alembic()
    repo.migration("aaa1", None)
    repo.commit()
    code, out, err = run(capsys, "heads", "-C", str(repo.root), *args)
    assert code == 3 and out == ""
    assert fragment in err and "Traceback" not in err


def test_no_configuration_and_no_repository(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "heads", "-C", str(tmp_path))
    assert code == 3 and "not in a git repository" in err.lower()
    repo = RepoBuilder(tmp_path / "r")
    repo.write("README", "x")
    repo.commit()
    code, _, err = run(capsys, "heads", "-C", str(repo.root))
    assert code == 3 and "alembic.ini" in err and "hint" in err


def test_usage_error_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "heads", "--format", "yaml")[0] == 2
    assert run(capsys, "no-such-command")[0] == 2


def test_versions_flag_and_bare_repository(
    repo: RepoBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo.migration("aaa1", None, directory="db/revs")
    repo.migration("bbb2", "aaa1", directory="db/revs")
    repo.commit()
    code, out, _ = run(capsys, "heads", "-C", str(repo.root), "--versions", "db/revs")
    assert (code, out) == (0, "bbb2 (head)\n")
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.root), str(bare))
    code, out, _ = run(capsys, "heads", "-C", str(bare), "--versions", "db/revs")
    assert (code, out) == (0, "bbb2 (head)\n")


def test_graph_formats(repo: RepoBuilder, capsys: pytest.CaptureFixture[str]) -> None:
    build_rich_history(repo, "plain")
    code, out, _ = run(capsys, "graph", "-C", str(repo.root), "--format", "dot")
    assert code == 0 and out.startswith("digraph") and "style=dashed" in out
    code, out, _ = run(capsys, "graph", "-C", str(repo.root), "--format", "mermaid")
    assert out.startswith("flowchart BT") and "-.->" in out
    code, out, _ = run(capsys, "graph", "-C", str(repo.root), "--format", "json")
    document = json.loads(out)
    revisions = {r["revision"]: r for r in document["environments"][0]["revisions"]}
    assert revisions["d4e5f6a1b2c3"]["is_merge_point"]
    assert revisions["a1b2c3d4e5f6"]["is_branch_point"]
    assert revisions["f6a1b2c3d4e5"]["labels"] == ["networking"]
    code, out, _ = run(capsys, "graph", "-C", str(repo.root))
    assert "(mergepoint)" in out and "(networking)" in out and "(depends on" in out


def test_help_imports_neither_libcst_nor_git() -> None:
    probe = (
        "import sys\nfrom mergeguard.app.cli import main\ncode = main(['--help'])\n"
        "assert code == 0\nbad = [m for m in ('libcst', 'git', 'rich') if m in sys.modules]\n"
        "print(bad)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("[]")
