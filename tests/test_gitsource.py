"""gitsource against real git repositories (no mocks of git).

Every snapshot kind is checked against what git itself says: ``git hash-object``
for blob ids, the bytes on disk for the work tree, ``git show`` for commits.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from mergeguard.errors import MergeguardError
from mergeguard.git.opening import open_repository
from mergeguard.git.repository import GitRepository
from mergeguard.git.snapshot import MemoryTree, Snapshot
from mergeguard.model import FileEntry
from tests.conftest import RepoBuilder

VERSIONS = PurePosixPath("migrations/versions")


def hash_object(repo: RepoBuilder, path: str) -> str:
    """What git says the blob id of the file on disk is."""
    return repo.git("hash-object", "--no-filters", "--", path)


def listing(snapshot: Snapshot, under: str = ".") -> dict[str, str]:
    """path -> blob id of a snapshot, as plain strings for easy comparison."""
    return {str(e.path): e.blob for e in snapshot.files(PurePosixPath(under))}


def contents(snapshot: Snapshot, under: str = ".") -> dict[str, bytes]:
    """path -> bytes of every file below ``under``, read through read_many."""
    return {str(f.path): f.text for f in snapshot.read_many(snapshot.files(PurePosixPath(under)))}


@pytest.fixture(autouse=True)
def _ceiling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep git's discovery inside tmp_path (never the repository running the tests)."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def git_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[str]]]:
    """Records the git sub-commands gitsource runs (the real processes still run)."""
    calls: list[list[str]] = []

    class Spy(subprocess.Popen):  # type: ignore[type-arg]  # every process starts here
        def __init__(self, argv: list[str], *args: Any, **kwargs: Any) -> None:
            if argv[:3] == ["git", "-c", "core.quotepath=off"]:  # gitsource's calls only
                calls.append(argv[3:])
            super().__init__(argv, *args, **kwargs)

    monkeypatch.setattr(subprocess, "Popen", Spy)
    yield calls


def two_commits(repo: RepoBuilder) -> tuple[str, str]:
    """alembic layout with revision a (commit 1, tag v1) then b (commit 2)."""
    repo.init_alembic()
    repo.migration("a", None)
    first = repo.commit("a")
    repo.git("tag", "-a", "v1", "-m", "release 1")
    repo.migration("b", "a", style="annotated")
    second = repo.commit("b")
    return first, second


# --------------------------------------------------------------------------- refs and trees


def test_tree_at_refs_lists_and_reads_committed_files(repo: RepoBuilder) -> None:
    first, second = two_commits(repo)
    git = open_repository(repo.root)
    assert git.resolve("HEAD") == second
    assert git.resolve(first[:8]) == first
    for ref in ("HEAD~1", "main@{1}", "v1", first[:10]):
        snap = git.tree(ref)
        assert snap.origin == f"{ref}@{first[:7]}"
        assert [str(e.path) for e in snap.files(VERSIONS)] == [
            "migrations/versions/.keep",
            "migrations/versions/a_migration.py",
        ]
    head = git.tree("main")
    assert head.origin == f"main@{second[:7]}"
    path = PurePosixPath("migrations/versions/b_migration.py")
    assert head.read(path) == (repo.root / path).read_bytes()
    assert head.read(PurePosixPath("migrations/versions/zz.py")) is None
    assert git.tree("HEAD~1").read(path) is None
    assert listing(head)[str(path)] == hash_object(repo, str(path))


def test_snapshot_queries_match_memory_tree(repo: RepoBuilder) -> None:
    """files/is_dir/find give exactly what MemoryTree gives over the same files."""
    files: dict[str | PurePosixPath, str | bytes] = {
        "alembic.ini": "x",
        "migrations/env.py": "env",
        "migrations/versions/a.py": "a",
        "migrations/versions/sub/b.py": "b",
        "migrations/versions2/c.py": "c",
        "migrations/versions.py": "not a dir",
        "other/alembic.ini": "y",
        "z-last.txt": "",
    }
    for path, text in files.items():
        repo.write(str(path), text)
    repo.commit()
    memory = MemoryTree(files)
    git = open_repository(repo.root)
    for snap in (git.tree("HEAD"), git.index(), git.worktree()):
        for under in (".", "migrations", "migrations/versions", "migrations/versions.py", "nope"):
            assert snap.files(PurePosixPath(under)) == memory.files(PurePosixPath(under))
        for path in (".", "migrations", "migrations/versions", "migrations/versions.py", "m"):
            assert snap.is_dir(PurePosixPath(path)) == memory.is_dir(PurePosixPath(path))
        assert snap.find("alembic.ini") == memory.find("alembic.ini")
        assert snap.find("missing.py") == ()
        assert snap.read(PurePosixPath("./migrations/versions/a.py")) == b"a"
        assert snap.read(PurePosixPath("z-last.txt")) == b""


def test_symlinks_and_submodules_are_skipped(repo: RepoBuilder) -> None:
    repo.write("real.py", "x = 1\n")
    os.symlink("real.py", repo.root / "link.py")
    repo.git("add", "-A")
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendor/sub")
    repo.git("commit", "-q", "-m", "links")
    git = open_repository(repo.root)
    for snap in (git.tree("HEAD"), git.index(), git.worktree()):
        assert list(listing(snap)) == ["real.py"], snap.origin


def test_listing_runs_git_once_and_read_many_once(
    repo: RepoBuilder, git_calls: list[list[str]]
) -> None:
    for i in range(300):
        repo.write(f"migrations/versions/r{i:03}.py", f"revision = 'r{i}'\n" * (i % 7 + 1))
    repo.commit()
    git = open_repository(repo.root)
    snap = git.tree("HEAD")
    git_calls.clear()
    entries = snap.files(VERSIONS)
    snap.files(VERSIONS)
    snap.files(PurePosixPath("."))
    assert snap.is_dir(VERSIONS) and snap.find("r007.py")
    read = snap.read_many(entries)
    assert [c[0] for c in git_calls] == ["ls-tree", "cat-file"]
    assert len(read) == 300
    assert all(f.text == (repo.root / f.path).read_bytes() for f in read)
    assert all(f.origin == snap.origin for f in read)
    git_calls.clear()
    git.tree("main").read_many(entries)  # same commit, same blobs: nothing to run
    assert [c[0] for c in git_calls] == ["rev-parse"]


def test_read_many_5000_blobs_is_exact(repo: RepoBuilder) -> None:
    """5,000 blobs in one packed commit (built by fast-import: no work-tree I/O)."""
    body = "".join(f"line {n}\n" for n in range(40))
    expected = {f"v/{i % 10}/r{i:04}.py": f"revision = 'r{i}'\n{body}" for i in range(5000)}
    stream = ["commit refs/heads/main", "committer T <t@example.com> 1704067200 +0000"]
    stream += ["data 4", "bulk"]
    for path, text in expected.items():
        stream += [f"M 100644 inline {path}", f"data {len(text)}", text]
    repo.git("fast-import", "--quiet", input="\n".join(stream) + "\n")
    snap = open_repository(repo.root).tree("main")
    entries = snap.files()
    read = snap.read_many(entries)
    assert {str(f.path): f.text.decode() for f in read} == expected


def test_unknown_ref_is_an_error_naming_it(repo: RepoBuilder) -> None:
    two_commits(repo)
    git = open_repository(repo.root)
    for ref in ("nope", "origin/main", "HEAD~5", "main@{7}", "--all", ""):
        with pytest.raises(MergeguardError) as caught:
            git.tree(ref)
        assert caught.value.message == f"unknown git ref '{ref}'"
        assert caught.value.hint and "fetch-depth: 0" in caught.value.hint


def test_not_a_repository(tmp_path: Path) -> None:
    plain = tmp_path / "just a dir"
    plain.mkdir()
    with pytest.raises(MergeguardError) as caught:
        open_repository(plain)
    assert str(plain) in caught.value.message and "not in a git repository" in caught.value.message
    assert caught.value.hint
    with pytest.raises(MergeguardError, match="does not exist"):
        open_repository(tmp_path / "missing")


def test_git_not_installed(
    repo: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    with pytest.raises(MergeguardError, match="git is not installed") as caught:
        open_repository(repo.root)
    assert caught.value.hint


def test_open_from_subdirectory_and_file(repo: RepoBuilder) -> None:
    two_commits(repo)
    for start in (repo.root / "migrations" / "versions", repo.root / "alembic.ini"):
        git = open_repository(start)
        assert git.work_tree == repo.root.resolve()
        assert git.git_dir == git.common_dir == repo.root.resolve() / ".git"


# --------------------------------------------------------------------------- index and work tree


def test_index_and_worktree_differ_from_head(repo: RepoBuilder) -> None:
    repo.write("app/models.py", "v1\n")
    repo.commit()
    repo.write("app/models.py", "v2 staged\n")
    repo.git("add", "app/models.py")
    staged_blob = hash_object(repo, "app/models.py")
    repo.write("app/models.py", "v3 on disk\n")
    git = open_repository(repo.root)
    path = PurePosixPath("app/models.py")
    assert git.tree("HEAD").read(path) == b"v1\n"
    index, worktree = git.index(), git.worktree()
    assert index.origin == "index" and worktree.origin == "worktree"
    assert index.read(path) == b"v2 staged\n"
    assert listing(index) == {"app/models.py": staged_blob}
    assert worktree.read(path) == b"v3 on disk\n"
    assert listing(worktree) == {"app/models.py": hash_object(repo, "app/models.py")}
    assert contents(index) == {"app/models.py": b"v2 staged\n"}
    assert contents(worktree) == {"app/models.py": b"v3 on disk\n"}


def test_worktree_modified_deleted_untracked_ignored(repo: RepoBuilder) -> None:
    repo.write(".gitignore", "*.log\nbuild/\n")
    for name in ("kept.py", "modified.py", "deleted.py", "staged_new_deleted.py"):
        repo.write(name, f"# {name}\n")
    repo.commit()
    repo.write("modified.py", "# changed\n")
    repo.remove("deleted.py")
    repo.write("new/untracked.py", "# new\n")
    repo.write("debug.log", "ignored\n")
    repo.write("build/out.py", "ignored dir\n")
    repo.write("added.py", "# added\n")
    repo.git("add", "added.py")
    git = open_repository(repo.root)
    worktree = git.worktree()
    expected = [".gitignore", "added.py", "kept.py", "modified.py", "new/untracked.py"]
    expected.append("staged_new_deleted.py")
    assert sorted(listing(worktree)) == sorted(expected)
    for path, blob in listing(worktree).items():
        assert blob == hash_object(repo, path), path
    assert contents(worktree) == {p: (repo.root / p).read_bytes() for p in expected}
    assert worktree.read(PurePosixPath("deleted.py")) is None
    assert worktree.read(PurePosixPath("debug.log")) is None
    assert "deleted.py" in listing(git.index())  # still staged
    assert "new/untracked.py" not in listing(git.index())


def test_worktree_trusts_nothing_git_does_not_verify(repo: RepoBuilder) -> None:
    """assume-unchanged and skip-worktree files are hashed from disk, not the index."""
    repo.write("a.py", "a\n")
    repo.write("b.py", "b\n")
    repo.commit()
    repo.git("update-index", "--assume-unchanged", "a.py")
    repo.git("update-index", "--skip-worktree", "b.py")
    repo.write("a.py", "a changed\n")
    repo.remove("b.py")
    worktree = open_repository(repo.root).worktree()
    assert listing(worktree) == {"a.py": hash_object(repo, "a.py")}
    assert worktree.read(PurePosixPath("a.py")) == b"a changed\n"


def test_reading_never_writes_the_index(repo: RepoBuilder) -> None:
    repo.write("a.py", "same\n")
    repo.write("b.py", "b\n")
    repo.commit()
    time.sleep(0.01)
    repo.write("a.py", "same\n")  # stat-dirty: `git status` would rewrite the index
    stamp = time.time() + 5
    os.utime(repo.root / "a.py", (stamp, stamp))
    repo.write("c.py", "untracked\n")
    index_file = repo.root / ".git" / "index"
    before = (index_file.read_bytes(), index_file.stat().st_mtime_ns)
    git = open_repository(repo.root)
    for snap in (git.tree("HEAD"), git.index(), git.worktree()):
        snap.read_many(snap.files())
        snap.read(PurePosixPath("a.py"))
    git.merge_head()
    assert listing(git.worktree())["a.py"] == hash_object(repo, "a.py")
    assert (index_file.read_bytes(), index_file.stat().st_mtime_ns) == before
    assert not (repo.root / ".git" / "index.lock").exists()


def test_paths_with_spaces_and_non_ascii(tmp_path: Path) -> None:
    repo = RepoBuilder(tmp_path / "dir with spaces" / "répo ü")
    names = ["migrations/versions/a b.py", "migrations/versions/ünïcødé_ñ.py", "tab\there.py"]
    for name in names:
        repo.write(name, f"# {name}\n")
    repo.commit()
    repo.write("migrations/versions/新しい.py", "# untracked\n")
    git = open_repository(repo.root / "migrations")
    assert git.work_tree == repo.root.resolve()
    tree_files = contents(git.tree("HEAD"))
    assert tree_files == {n: f"# {n}\n".encode() for n in names}
    assert contents(git.index()) == tree_files
    on_disk = contents(git.worktree())
    assert on_disk["migrations/versions/新しい.py"] == b"# untracked\n"
    for name, blob in listing(git.worktree()).items():
        assert blob == hash_object(repo, name)
    target = repo.root / "migrations" / "versions" / "ünïcødé_ñ.py"
    assert git.relative_to_root(target) == PurePosixPath("migrations/versions/ünïcødé_ñ.py")


# --------------------------------------------------------------------------- repository kinds


def test_bare_clone_reads_trees_but_has_no_worktree(repo: RepoBuilder, tmp_path: Path) -> None:
    first, second = two_commits(repo)
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.root), str(bare))
    git = open_repository(bare)
    assert git.work_tree is None
    assert git.git_dir == git.common_dir == bare.resolve()
    snap = git.tree("main")
    assert snap.origin == f"main@{second[:7]}"
    assert contents(snap, "migrations/versions") == contents(
        open_repository(repo.root).tree("HEAD"), "migrations/versions"
    )
    assert git.resolve("v1") == first
    for method in (git.worktree, git.index):
        with pytest.raises(MergeguardError, match="is a bare repository") as caught:
            method()
        assert caught.value.hint == "pass --ref REF"
    with pytest.raises(MergeguardError, match="bare repository"):
        git.relative_to_root(bare)


def test_linked_worktree_reads_its_own_files(repo: RepoBuilder, tmp_path: Path) -> None:
    two_commits(repo)
    linked = tmp_path / "linked tree"
    repo.git("worktree", "add", "-q", "-b", "feature", str(linked))
    (linked / "alembic.ini").write_text("changed in linked\n")
    (linked / "only_here.py").write_text("x\n")
    main = open_repository(repo.root)
    other = open_repository(linked)
    assert other.work_tree == linked.resolve()
    assert other.common_dir == main.common_dir == repo.root.resolve() / ".git"
    assert other.git_dir != main.git_dir
    assert other.current_branch() == "feature" and main.current_branch() == "main"
    ini = PurePosixPath("alembic.ini")
    assert other.worktree().read(ini) == b"changed in linked\n"
    assert other.worktree().read(PurePosixPath("only_here.py")) == b"x\n"
    assert main.worktree().read(ini) == (repo.root / "alembic.ini").read_bytes()
    assert main.worktree().read(PurePosixPath("only_here.py")) is None
    assert other.index().read(ini) == main.index().read(ini)
    assert other.relative_to_root(linked / "only_here.py") == PurePosixPath("only_here.py")


# --------------------------------------------------------------------------- history questions


def test_merge_base_and_shallow_clone(repo: RepoBuilder, tmp_path: Path) -> None:
    base, _ = two_commits(repo)
    repo.branch("feature", "HEAD~1")
    repo.write("f.py", "feature\n")
    feature = repo.commit("feature")
    repo.git("checkout", "-q", "--orphan", "unrelated")
    repo.commit("root")
    repo.checkout("main")
    git = open_repository(repo.root)
    assert git.merge_base("main", "feature") == base
    assert git.merge_base("feature", feature[:9]) == feature
    assert git.merge_base("main", "unrelated") is None
    assert not git.is_shallow()
    shallow = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "1", repo.root.as_uri(), str(shallow))
    clone = open_repository(shallow)
    assert clone.is_shallow()
    assert clone.current_branch() == "main"
    assert clone.upstream() == "origin/main"
    assert clone.resolve("origin/main") == git.resolve("main")
    with pytest.raises(MergeguardError, match="unknown git ref 'HEAD~1'"):
        clone.resolve("HEAD~1")


def test_merge_head_and_conflicts(repo: RepoBuilder) -> None:
    repo.write("migrations/versions/x.py", "base\n")
    repo.write("other.py", "o\n")
    repo.commit()
    repo.branch("feature")
    repo.write("migrations/versions/x.py", "theirs\n")
    theirs = repo.commit("theirs")
    repo.checkout("main")
    repo.write("migrations/versions/x.py", "ours\n")
    repo.commit("ours")
    git = open_repository(repo.root)
    assert git.merge_head() is None
    repo.git("merge", "feature", check=False)
    assert git.merge_head() == theirs
    path = PurePosixPath("migrations/versions/x.py")
    assert git.index().read(path) == b"ours\n"
    assert listing(git.index())[str(path)] == git.tree("HEAD").files(VERSIONS)[0].blob
    on_disk = git.worktree().read(path)
    assert on_disk is not None and b"<<<<<<<" in on_disk
    assert listing(git.worktree())[str(path)] == hash_object(repo, str(path))
    repo.git("merge", "--abort")
    assert git.merge_head() is None


def test_branch_and_upstream(repo: RepoBuilder) -> None:
    two_commits(repo)
    git = open_repository(repo.root)
    assert git.current_branch() == "main"
    assert git.upstream() is None
    repo.git("checkout", "-q", "--detach")
    assert git.current_branch() is None
    assert git.upstream() is None


def test_relative_to_root(
    repo: RepoBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_commits(repo)
    git: GitRepository = open_repository(repo.root)
    assert git.relative_to_root(repo.root) == PurePosixPath(".")
    assert git.relative_to_root(repo.root / "migrations" / "versions") == VERSIONS
    monkeypatch.chdir(repo.root / "migrations")
    assert git.relative_to_root(Path("versions/a_migration.py")) == PurePosixPath(
        "migrations/versions/a_migration.py"
    )
    assert git.relative_to_root(Path("../alembic.ini")) == PurePosixPath("alembic.ini")
    link = tmp_path / "link-to-repo"
    link.symlink_to(repo.root, target_is_directory=True)
    assert git.relative_to_root(link / "alembic.ini") == PurePosixPath("alembic.ini")
    with pytest.raises(MergeguardError, match="outside the work tree"):
        git.relative_to_root(tmp_path)
    with pytest.raises(MergeguardError, match="outside the work tree"):
        git.relative_to_root(Path("../../elsewhere"))


def test_the_merged_snapshot_is_git_merge_by_path(repo: RepoBuilder) -> None:
    """Changed on one side: that side; on both: ours, a conflict; deleted on
    one side and untouched on the other: deleted; read through the side taken."""
    from mergeguard.git.merged import MergedSnapshot

    base = {"a.py": "a", "b.py": "b", "c.py": "c", "d/e.py": "e", "f.py": "f"}
    repo.write("seed", "")
    for path, text in base.items():
        repo.write(path, text)
    repo.commit()
    repo.branch("theirs")
    repo.write("a.py", "a theirs")  # theirs only
    repo.write("c.py", "c both, theirs")
    repo.remove("f.py")  # deleted on theirs, untouched on ours
    repo.write("t.py", "new on theirs")
    theirs = repo.commit()
    repo.checkout("main")
    repo.write("b.py", "b ours")
    repo.write("c.py", "c both, ours")
    repo.remove("d/e.py")
    repo.write("d/g.py", "new on ours")
    ours = repo.commit()
    git = open_repository(repo.root)
    sides = (git.tree("main~1"), git.tree(theirs), git.tree(ours))
    merged = MergedSnapshot(*sides, "merge")
    assert merged.conflicts == (PurePosixPath("c.py"),)
    assert {str(f.path): f.text for f in merged.read_many(merged.files())} == {
        "a.py": b"a theirs",
        "b.py": b"b ours",
        "c.py": b"c both, ours",
        "d/g.py": b"new on ours",
        "seed": b"",
        "t.py": b"new on theirs",
    }
    assert merged.read(PurePosixPath("t.py")) == b"new on theirs"
    assert merged.read(PurePosixPath("f.py")) is None and merged.is_dir(PurePosixPath("d"))


def test_one_file_read_from_the_work_tree_agrees_with_its_listing(repo: RepoBuilder) -> None:
    """A range check reads only pyproject.toml of the work tree, asked of git
    for that path alone: the answer must be the one the whole listing gives
    (tracked, changed, deleted, untracked, ignored, a symlink, a directory)."""
    repo.write(".gitignore", "ignored.toml\n")
    for path in ("tracked.toml", "changed.toml", "deleted.toml", "dir/inner.toml"):
        repo.write(path, f"[{path}]\n")
    repo.commit()
    repo.write("changed.toml", "[changed, on disk]\n")
    repo.remove("deleted.toml")
    repo.write("untracked.toml", "[untracked]\n")
    repo.write("ignored.toml", "[ignored]\n")
    (repo.root / "link.toml").symlink_to("tracked.toml")
    asked = [
        "tracked.toml",
        "changed.toml",
        "deleted.toml",
        "untracked.toml",
        "ignored.toml",
        "link.toml",
        "dir",
        "dir/inner.toml",
        "missing.toml",
        "a name with spaces [*].toml",
    ]
    repo.write("a name with spaces [*].toml", "[odd name]\n")
    git = open_repository(repo.root)
    alone = {path: git.worktree().read(PurePosixPath(path)) for path in asked}
    listed = git.worktree()
    listed.files()  # the whole listing first: read() then answers from it
    assert alone == {path: listed.read(PurePosixPath(path)) for path in asked}
    assert alone["changed.toml"] == b"[changed, on disk]\n"
    assert alone["untracked.toml"] == b"[untracked]\n"
    assert alone["ignored.toml"] is None and alone["deleted.toml"] is None
    assert alone["link.toml"] is None and alone["dir"] is None


def test_a_file_absent_from_the_work_tree_is_not_asked_of_git(
    repo: RepoBuilder, git_calls: list[list[str]]
) -> None:
    """A range check reads the work tree's pyproject.toml: when there is no
    such file on disk, the answer (None) needs no git process."""
    repo.write("tracked.toml", "[tracked]\n")
    repo.commit()
    git = open_repository(repo.root)
    git_calls.clear()
    assert git.worktree().read(PurePosixPath("pyproject.toml")) is None
    assert git_calls == []
    assert git.worktree().read(PurePosixPath("tracked.toml")) == b"[tracked]\n"
    assert [c[0] for c in git_calls] == ["ls-files"]


def test_opening_asks_one_rev_parse_and_falls_back_inside_the_git_directory(
    repo: RepoBuilder, git_calls: list[list[str]]
) -> None:
    """The top level comes with the git directories; from inside ``.git``
    (no top level to show) the work tree is still found."""
    two_commits(repo)
    git = open_repository(repo.root / "migrations")
    assert [c[0] for c in git_calls] == ["rev-parse"]
    assert git.work_tree == repo.root.resolve()
    inside = open_repository(repo.root / ".git")
    assert inside.work_tree == repo.root.resolve()
    assert inside.git_dir == inside.common_dir == (repo.root / ".git").resolve()


def test_a_resolved_commit_and_a_merge_base_are_not_asked_again(
    repo: RepoBuilder, git_calls: list[list[str]]
) -> None:
    base, _ = two_commits(repo)
    repo.branch("feature", "HEAD~1")
    repo.write("f.py", "feature\n")
    repo.commit("feature")
    repo.checkout("main")
    git = open_repository(repo.root)
    head = git.resolve("main")
    assert git.merge_base("main", "feature") == base
    git_calls.clear()
    assert git.resolve(head) == head and git.resolve(base) == base
    assert git.merge_base(head, "main") == head  # a commit with itself: no merge-base run
    assert git.tree(base).origin == f"{base}@{base[:7]}"
    assert git_calls == []


def test_listing_output_must_be_whole_records() -> None:
    from mergeguard.git.plumbing import parse_ls_files, parse_ls_tree

    sha = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    record = f"100644 blob {sha}\tmigrations/a.py\0".encode()
    assert parse_ls_tree(record * 2) == {"migrations/a.py": sha}
    assert parse_ls_tree(b"") == {}
    for bad in (
        record + b"garbage\0",
        record + b"garbage",
        record[:-1],
        b"x" + record,
        record.replace(b"\t", b" "),
        record + record.replace(b"blob ", b""),
    ):
        with pytest.raises(MergeguardError, match="ls-tree printed something"):
            parse_ls_tree(bad)
    staged = f"H 100644 {sha} 0\tmigrations/a.py\0".encode()
    assert parse_ls_files(staged) == ({"migrations/a.py": sha}, set())
    with pytest.raises(MergeguardError, match="ls-files printed something"):
        parse_ls_files(staged + b"H 100644 0\tb.py\0")


def test_plain_listings_parse_as_record_by_record() -> None:
    """A listing of plain records only (sliced) gives what the same records
    give among others (parsed one by one): names with spaces, tabs and
    undecodable bytes too."""
    from mergeguard.git.plumbing import parse_ls_files, parse_ls_tree

    names = [b"a.py", b"dir/b c.py", b"tab\there.py", b"caf\xc3\xa9.py", b"bad\xff.py"]
    shas = [f"{i:040x}" for i in range(len(names))]
    tree = b"".join(
        b"100644 blob %s\t%s\0" % (h.encode(), n) for h, n in zip(shas, names, strict=True)
    )
    index = b"".join(
        b"H 100755 %s 0\t%s\0" % (h.encode(), n) for h, n in zip(shas, names, strict=True)
    )
    expected = {os.fsdecode(n): h for n, h in zip(names, shas, strict=True)}
    assert parse_ls_tree(tree) == expected
    assert parse_ls_files(index) == (expected, set())
    link = b"120000 blob %s\tlink.py\0" % shas[0].encode()
    assert parse_ls_tree(tree + link) == expected  # a symlink: not a file
    skipped = b"S 100644 %s 0\tsparse.py\0" % shas[1].encode()
    conflict = b"H 100644 %s 2\tboth.py\0" % shas[2].encode()
    assert parse_ls_files(index + skipped + conflict) == (
        expected | {"sparse.py": shas[1], "both.py": shas[2]},
        {"sparse.py"},
    )


def test_refs_resolved_together_are_those_resolved_alone(repo: RepoBuilder) -> None:
    """One git process for the refs a check asks for at once; a name git cannot
    answer alone (unknown, ambiguous, a range, an option) leaves them all to
    ``resolve``, which says what is wrong with it."""
    two_commits(repo)  # v1: an annotated tag, peeled to its commit
    alone = open_repository(repo.root)
    expected = {ref: alone.resolve(ref) for ref in ("HEAD", "main", "v1", "HEAD~1")}
    together = open_repository(repo.root)
    together.resolve_together(list(expected))
    assert {ref: together._resolved[ref] for ref in expected} == expected
    repo.git("tag", "main", "HEAD~1")  # a tag named like the branch: ambiguous
    for odd in ("nope", "main", "HEAD~1..HEAD", "--all"):
        git = open_repository(repo.root)
        git.resolve_together(["HEAD", odd])
        assert "HEAD" not in git._resolved
        with pytest.raises(MergeguardError, match="unknown git ref|is ambiguous"):
            git.resolve(odd)


def test_the_default_branch_in_one_git_process(
    repo: RepoBuilder, git_calls: list[list[str]]
) -> None:
    """origin/HEAD's target, else origin/main, else origin/master: only refs
    naming a commit, named exactly (another name, a remote named like a
    glob, a dangling origin/HEAD count for nothing)."""
    first, second = two_commits(repo)
    git = open_repository(repo.root)
    assert git.default_branch() is None
    assert git.local_default_branch() == "main"
    repo.git("update-ref", "refs/remotes/origin/master", first)
    repo.git("update-ref", "refs/remotes/origin/mainline", first)  # not a name asked
    git_calls.clear()
    assert git.default_branch() == "origin/master"
    assert [c[0] for c in git_calls] == ["for-each-ref"]
    repo.git("update-ref", "refs/remotes/origin/main", second)
    assert open_repository(repo.root).default_branch() == "origin/main"
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/master")
    assert open_repository(repo.root).default_branch() == "origin/master"
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/gone")
    assert open_repository(repo.root).default_branch() == "origin/main"  # dangling: skipped
    assert open_repository(repo.root).default_branch("*") is None  # no glob: no remote "*"
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    repo.git("update-ref", "refs/remotes/up/main", tree)  # a tree is not a branch
    assert open_repository(repo.root).default_branch("up") is None
    repo.git("update-ref", "refs/remotes/up/master", repo.git("rev-parse", "v1").strip())
    assert open_repository(repo.root).default_branch("up") == "up/master"  # a tag of a commit
    repo.git("tag", "-a", "v1-again", "-m", "a tag of a tag", "v1")
    repo.git("update-ref", "refs/remotes/ox/master", repo.git("rev-parse", "v1-again").strip())
    assert open_repository(repo.root).default_branch("ox") == "ox/master"  # peeled to the end


def test_the_default_branch_is_named_unambiguously(repo: RepoBuilder) -> None:
    """A local branch named ``origin/main`` beside the remote's: origin/HEAD's
    target by the name git itself would give (``symbolic-ref --short``)."""
    first, _ = two_commits(repo)
    repo.git("update-ref", "refs/remotes/origin/main", first)
    repo.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
    repo.git("branch", "origin/main", first)
    git = open_repository(repo.root)
    assert git.default_branch() == "remotes/origin/main"
    assert git.resolve("remotes/origin/main") == first


def test_prefetched_trees_are_the_trees_listed_alone(
    repo: RepoBuilder, git_calls: list[list[str]]
) -> None:
    """Trees listed in the background are listed once each and are the same
    as listed in the foreground; an unknown object fails where it is read."""
    first, second = two_commits(repo)
    alone = {sha: listing(open_repository(repo.root).tree(sha)) for sha in (first, second)}
    git = open_repository(repo.root)
    git_calls.clear()
    git.prefetch_trees([first, second, first, None])
    assert {sha: listing(git.tree(sha)) for sha in (first, second)} == alone
    assert sorted(c[0] for c in git_calls if c[0] == "ls-tree") == ["ls-tree", "ls-tree"]
    missing = "0" * 40
    git.prefetch_trees([missing])
    with pytest.raises(MergeguardError):
        git._tree_blobs(missing)


def test_the_index_reads_a_file_staged_as_it_is_from_the_disk(
    repo: RepoBuilder, git_calls: list[list[str]]
) -> None:
    """A staged file whose bytes on disk are its blob is read without a git
    process; one changed since staging, or a symlink in its place, is read
    from the index as staged."""
    repo.write("alembic.ini", "[alembic]\nscript_location = migrations\n")
    repo.write("other.ini", "[a]\n")
    repo.git("add", "alembic.ini", "other.ini")
    git = open_repository(repo.root)
    index = git.index()
    git_calls.clear()
    assert index.read(PurePosixPath("alembic.ini")) == b"[alembic]\nscript_location = migrations\n"
    assert [c[0] for c in git_calls] == ["ls-files"]
    (repo.root / "other.ini").write_text("[a]\nchanged = after staging\n")
    assert index.read(PurePosixPath("other.ini")) == b"[a]\n"
    assert [c[0] for c in git_calls] == ["ls-files", "cat-file"]
    (repo.root / "same.txt").write_bytes(b"[alembic]\nscript_location = migrations\n")
    (repo.root / "alembic.ini").unlink()
    (repo.root / "alembic.ini").symlink_to("same.txt")  # the staged bytes, through a link
    git_calls.clear()
    fresh = open_repository(repo.root).index()
    assert fresh.read(PurePosixPath("alembic.ini")) == b"[alembic]\nscript_location = migrations\n"
    assert [c[0] for c in git_calls][-1] == "cat-file"  # the link not followed
    (repo.root / "alembic.ini").unlink()
    (repo.root / "alembic.ini").mkdir()  # a directory where the staged file was
    fresh = open_repository(repo.root).index()
    assert fresh.read(PurePosixPath("alembic.ini")) == b"[alembic]\nscript_location = migrations\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_work_tree_file_swapped_for_a_fifo_is_an_error_not_a_wait(repo: RepoBuilder) -> None:
    """A file listed in the work tree, then replaced by a FIFO (or a
    directory) before it is read: an error naming it, at once, never a read
    that waits for a writer."""
    import threading

    repo.write("migrations/versions/a.py", "revision = 'a'\n")
    repo.write("migrations/versions/b.py", "revision = 'b'\n")
    repo.commit()
    worktree = open_repository(repo.root).worktree()
    entries = worktree.files(VERSIONS)
    (repo.root / "migrations/versions/a.py").unlink()
    os.mkfifo(repo.root / "migrations/versions/a.py")
    (repo.root / "migrations/versions/b.py").unlink()
    (repo.root / "migrations/versions/b.py").mkdir()
    errors: list[str] = []

    def read(entry: FileEntry) -> None:
        try:
            worktree.read_many([entry])
        except MergeguardError as error:
            errors.append(error.message)

    for entry in entries:
        thread = threading.Thread(target=read, args=(entry,), daemon=True)
        thread.start()
        thread.join(10)
        assert not thread.is_alive(), f"reading {entry} waited"
    assert errors == [
        "cannot read migrations/versions/a.py in the work tree: not a regular file",
        "cannot read migrations/versions/b.py in the work tree: not a regular file",
    ]
