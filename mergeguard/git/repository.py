"""Git as a source of files: opening a repository, its refs, merge bases and snapshots.

mergeguard drives the ``git`` executable with plumbing commands
(``rev-parse``, ``ls-tree``, ``ls-files``, ``diff-files``, ``cat-file
--batch``) rather than GitPython: a plain subprocess starts faster than
``import git`` (which alone is a third of the warm-cache budget), reports a
missing git as an error instead of an ImportError, and gives exact control
over what runs.  Nothing here writes the index, the working tree or any ref:
``GIT_OPTIONAL_LOCKS=0`` is set for every call and no porcelain (``status``,
``checkout``, ``stash``) is ever run.  Running git and parsing its output is
``mergeguard.git.plumbing``; the snapshots are ``mergeguard.git.trees``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from functools import partial
from pathlib import Path, PurePosixPath

from mergeguard.errors import MergeguardError
from mergeguard.git import process as bounded_process
from mergeguard.git.background import Background
from mergeguard.git.plumbing import (
    EMPTY_BLOB,
    OBJECT_ID,
    BlobMap,
    base_env,
    garbled,
    object_id,
    one_line,
    parse_batch,
    parse_ls_files,
    parse_ls_tree,
    ref_names,
    run_git,
    split_z,
)
from mergeguard.git.snapshot import Snapshot, blob_id
from mergeguard.git.trees import (
    ObjectSnapshot,
    WorktreeSnapshot,
    is_regular_file,
    read_regular_file,
)

# the largest file read from the work tree in place of its staged blob
_DISK_READ_BYTES = 1 << 20

_UNKNOWN_REF_HINT = (
    "check the name with `git branch -a` or `git tag`; "
    "in CI fetch full history (actions/checkout: fetch-depth: 0)"
)


# git's own merge messages: "Merge branch 'feature'", "Merge remote-tracking branch 'origin/main'"
_MERGE_MSG_NAME = re.compile(
    r"Merge (?:remote-tracking branch|branch|tag|commit) '([^'\n]{1,200})'"
)


class GitRepository:
    """One git repository (normal, linked worktree or bare), read-only.

    ``work_tree`` is None for a bare repository; ``git_dir`` is this worktree's
    own git directory; ``common_dir`` is shared by all worktrees of the
    repository (the parse cache lives below it).
    """

    def __init__(self, work_tree: Path | None, git_dir: Path, common_dir: Path) -> None:
        self.work_tree = work_tree
        self.git_dir = git_dir
        self.common_dir = common_dir
        self._env = base_env()
        self._env["GIT_DIR"] = str(git_dir)
        if work_tree is None:
            self._env.pop("GIT_WORK_TREE", None)
        else:
            self._env["GIT_WORK_TREE"] = str(work_tree)
        self._resolved: dict[str, str] = {}
        self._trees: dict[str, BlobMap] = {}
        self._listing_trees: dict[str, Background[BlobMap]] = {}
        self._default_branches: dict[str, Background[str | None]] = {}
        self._blob_cache: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"GitRepository(work_tree={self.work_tree!r}, git_dir={self.git_dir!r})"

    def _git(
        self, *args: str, input: bytes | None = None, check: bool = True
    ) -> bounded_process.Finished:
        """The finished git process, run at this repository with its environment."""
        cwd = self.work_tree or self.git_dir
        return run_git(args, cwd=cwd, env=self._env, input=input, check=check)

    def _require_work_tree(self, what: str) -> Path:
        """The work tree root; a bare repository has none, which is an error."""
        if self.work_tree is None:
            raise MergeguardError(
                f"{self.git_dir} is a bare repository: it has no {what}",
                hint="pass --ref REF",
            )
        return self.work_tree

    # ----------------------------------------------------------------- refs

    def resolve(self, ref: str) -> str:
        """The full commit id that ``ref`` names (any rev-parse expression).

        Tags are peeled to their commit.  Memoized: a GitRepository serves one
        run, during which refs are taken not to move.  An unknown name is a MergeguardError
        naming it, with a hint about shallow CI checkouts.
        """
        sha = self._resolved.get(ref)
        if sha is None:
            sha = self._rev_parse_commit(ref)
            self._resolved[ref] = sha
            self._resolved.setdefault(sha, sha)  # a commit's id names it: no second rev-parse
        return sha

    def resolve_together(self, refs: Sequence[str]) -> None:
        """Resolve several refs in one git process, memoized as ``resolve``
        memoizes them (a check asks for two or three at once).  Nothing is
        decided here: when any of them is unknown, ambiguous or not a single
        commit, none is kept, and ``resolve`` answers each on its own (with
        its own error)."""
        wanted = [r for r in dict.fromkeys(refs) if r not in self._resolved]
        if len(wanted) < 2 or not all(
            r and not r.startswith("-") and "\n" not in r for r in wanted
        ):
            return
        # without --verify (one name only), so without --end-of-options, which
        # git then echoes: no name starts with "-", and each answer must be an id
        proc = self._git("rev-parse", *(f"{ref}^{{commit}}" for ref in wanted), check=False)
        shas = proc.stdout.decode("ascii", errors="replace").split()
        if (
            proc.returncode != 0
            or proc.stderr.strip()  # a warning (an ambiguous name): resolve() tells which
            or len(shas) != len(wanted)
            or not all(OBJECT_ID.fullmatch(sha) for sha in shas)
        ):
            return
        for ref, sha in zip(wanted, shas, strict=True):
            self._resolved[ref] = sha
            self._resolved.setdefault(sha, sha)

    def _rev_parse_commit(self, ref: str) -> str:
        """``git rev-parse --verify ref^{commit}``; unknown refs raise."""
        proc = None
        if ref and not ref.startswith("-") and "\n" not in ref:
            proc = self._git(  # not --quiet: git warns of an ambiguous name on stderr
                "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}", check=False
            )
        if proc is None or proc.returncode != 0:
            raise MergeguardError(f"unknown git ref '{ref}'", hint=_UNKNOWN_REF_HINT)
        sha = object_id("rev-parse", proc.stdout)
        if b"is ambiguous" in proc.stderr:
            raise MergeguardError(
                f"'{ref}' is ambiguous: a tag and a branch (or another ref) share the name, "
                f"and git would read {sha[:7]}",
                hint=f"name the one you mean: refs/heads/{ref} or refs/tags/{ref}",
            )
        return sha

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two refs, or None when they share no history."""
        left, right = self.resolve(a), self.resolve(b)
        if left == right:
            return left  # a commit is its own merge base: no git process
        proc = self._git("merge-base", left, right, check=False)
        if proc.returncode == 1 and not proc.stdout.strip():
            return None
        if proc.returncode != 0:
            raise MergeguardError(
                f"git merge-base {a} {b} failed: {one_line(proc.stderr)}",
                hint="in CI fetch full history (fetch-depth: 0)",
            )
        base = object_id("merge-base", proc.stdout)
        self._resolved.setdefault(base, base)  # merge-base prints a commit's id
        return base

    def parents(self, ref: str) -> tuple[str, ...]:
        """The parent commit ids of ``ref``, in order (two or more for a merge)."""
        proc = self._git("rev-list", "--parents", "-n", "1", self.resolve(ref), check=False)
        ids = tuple(proc.stdout.decode("ascii", errors="replace").split()[1:])
        if not all(OBJECT_ID.fullmatch(sha) for sha in ids):
            raise garbled("rev-list", proc.stdout)
        return ids

    def is_shallow(self) -> bool:
        """True in a shallow clone, where merge bases may be missing."""
        out = self._git("rev-parse", "--is-shallow-repository").stdout
        return out.strip() == b"true"

    def merge_head(self) -> str | None:
        """The commit being merged (first line of MERGE_HEAD), or None outside a merge.

        Read from this worktree's git directory: no process needed.
        """
        try:
            text = (self.git_dir / "MERGE_HEAD").read_text("ascii", errors="replace")
        except OSError:
            return None
        first = text.split("\n", 1)[0].strip()
        return first if OBJECT_ID.fullmatch(first) else None

    def merge_head_name(self) -> str | None:
        """The name ``git merge`` was given (``feature``, ``origin/main``), read
        from the first line of MERGE_MSG; None when it names none."""
        try:
            text = (self.git_dir / "MERGE_MSG").read_text("utf-8", errors="replace")
        except OSError:
            return None
        found = _MERGE_MSG_NAME.match(text[:1000])
        return found.group(1) if found else None

    def rebase_state(self) -> tuple[str, str] | None:
        """(onto sha, branch being rebased) while a ``git rebase`` is stopped, else None.

        During a rebase git's "ours" is the branch being rebased *onto*;
        mergeguard names the refs instead of using the words.
        """
        for folder in ("rebase-merge", "rebase-apply"):
            directory = self.git_dir / folder
            try:
                onto = (directory / "onto").read_text("ascii", errors="replace").strip()
            except OSError:
                continue
            try:
                head = (directory / "head-name").read_text("utf-8", errors="replace").strip()
            except OSError:
                head = "HEAD"
            if OBJECT_ID.fullmatch(onto):
                return onto, head.removeprefix("refs/heads/")
        return None

    def current_branch(self) -> str | None:
        """The short name of the checked-out branch, or None when HEAD is detached."""
        proc = self._git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if proc.returncode != 0:
            return None
        names = ref_names("symbolic-ref", proc.stdout.strip())
        return names[0] if names else None

    def upstream(self) -> str | None:
        """The current branch's upstream (e.g. ``origin/main``), or None if it has none."""
        proc = self._git(
            "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False
        )
        if proc.returncode != 0:
            return None
        names = ref_names("rev-parse", proc.stdout.strip())
        return names[0] if names else None

    def exists(self, ref: str) -> bool:
        """True when ``ref`` names a commit (never raises)."""
        try:
            self.resolve(ref)
        except MergeguardError:
            return False
        return True

    def default_branch(self, remote: str = "origin") -> str | None:
        """The remote's default branch as this clone knows it: what
        ``refs/remotes/<remote>/HEAD`` points at, else ``<remote>/main``, else
        ``<remote>/master`` (short names, e.g. ``origin/main``), else None.

        One ``for-each-ref`` lists the three refs (a pre-commit run pays for
        every git process it starts); only a ref naming a commit counts, and
        names are compared exactly (a remote named like a glob matches
        nothing else).  Found in the background when ``guess_default_branch``
        started it."""
        started = self._default_branches.get(remote)
        return started.result() if started else self._find_default_branch(remote)

    def guess_default_branch(self, remote: str = "origin") -> None:
        """Start finding ``default_branch(remote)`` and resolving it with HEAD,
        in a thread (``git.background``): a check without a ``--base`` needs
        both, and found while the index is listed they cost it no wait.
        Nothing is decided here: a run that needs neither ignores them."""
        if remote not in self._default_branches:
            self._default_branches[remote] = Background(partial(self._default_and_head, remote))

    def _default_and_head(self, remote: str) -> str | None:
        name = self._find_default_branch(remote)
        if name is not None:
            self.resolve_together(["HEAD", name])
        return name

    def _find_default_branch(self, remote: str) -> str | None:
        prefix = f"refs/remotes/{remote}/"
        wanted = [prefix + name for name in ("HEAD", "main", "master")]
        commits = self._commit_refs(wanted)
        target = commits.get(wanted[0])  # a commit: so is the ref it points at
        if target:
            return target
        for candidate in wanted[1:]:
            if candidate in commits:
                return self.short_name(candidate)
        return None

    def _commit_refs(self, names: Sequence[str]) -> dict[str, str]:
        """Which of the full ref ``names`` exist and name a commit (a tag of
        one too): name -> the ref a symbolic ref points at, by its shortest
        unambiguous name as ``git symbolic-ref --short`` gives it
        (``remotes/origin/main`` beside a local branch ``origin/main``);
        "" for an ordinary ref."""
        proc = self._git(
            "for-each-ref",
            "--format=%(refname)%00%(symref:short)%00%(objecttype)%00%(*objecttype)",
            "--",
            *names,
            check=False,
        )
        found: dict[str, str] = {}
        for line in proc.stdout.decode("utf-8", errors="replace").split("\n"):
            fields = line.split("\0")
            if len(fields) != 4 or fields[0] not in names:
                continue  # a pattern also matches refs below it: only the names asked
            name, symref, kind, peeled = fields
            if symref:
                ref_names("for-each-ref", symref.encode())  # garbled output is an error
            # a tag of a tag: peeled to the end by rev-parse, as before
            nested = kind == "tag" and peeled == "tag" and self.exists(name)
            if kind == "commit" or (kind == "tag" and peeled == "commit") or nested:
                found[name] = symref
        return found

    def local_default_branch(self) -> str | None:
        """``main`` or ``master`` when such a local branch exists (a repository
        without a remote), else None."""
        found = self._commit_refs(["refs/heads/main", "refs/heads/master"])
        return next((name for name in ("main", "master") if f"refs/heads/{name}" in found), None)

    def matching_refs(
        self, patterns: Sequence[str], *, merged_into: str | None = None
    ) -> tuple[str, ...]:
        """Full ref names matching ``patterns`` (globs as ``git for-each-ref``
        reads them; a short pattern like ``origin/release/*`` is tried under
        refs/remotes/, refs/heads/ and refs/tags/), sorted; with
        ``merged_into``, only those that commit already contains."""
        full: list[str] = []
        for pattern in patterns:
            if pattern.startswith("refs/"):
                full.append(pattern)
            else:
                full.extend(f"refs/{kind}/{pattern}" for kind in ("remotes", "heads", "tags"))
        if not full:
            return ()
        merged = (f"--merged={merged_into}",) if merged_into else ()
        proc = self._git("for-each-ref", "--format=%(refname)", *merged, "--", *full, check=False)
        names = ref_names("for-each-ref", proc.stdout)
        return tuple(sorted({n for n in names if not n.endswith("/HEAD")}))

    def branch_tips(self) -> tuple[tuple[str, str, str], ...]:
        """(full ref name, commit, tree) of every branch, local and remote
        (``refs/heads/*``, ``refs/remotes/*``; not ``*/HEAD``), the most
        recently committed first; refs that do not name a commit are left out."""
        proc = self._git(
            "for-each-ref",
            "--sort=-committerdate",
            "--format=%(refname)%00%(objecttype)%00%(objectname)%00%(tree)",
            "refs/heads",
            "refs/remotes",
            check=False,
        )
        tips: list[tuple[str, str, str]] = []
        for line in proc.stdout.split(b"\n"):
            fields = line.split(b"\0")
            if len(fields) != 4 or fields[1] != b"commit":
                continue
            names = ref_names("for-each-ref", fields[0])  # a garbled name is an error
            name = names[0] if len(names) == 1 else ""
            commit, tree = (
                fields[2].decode("ascii", "replace"),
                fields[3].decode("ascii", "replace"),
            )
            if name and not name.endswith("/HEAD"):
                tips.append((name, commit, tree))
        return tuple(tips)

    def short_name(self, ref: str) -> str:
        """``refs/tags/v1`` -> ``v1``, ``refs/remotes/origin/x`` -> ``origin/x``."""
        for prefix in ("refs/heads/", "refs/tags/", "refs/remotes/"):
            if ref.startswith(prefix):
                return ref[len(prefix) :]
        return ref

    def branch_of(self, sha: str) -> str | None:
        """A branch name (local first, then remote) whose tip is ``sha``, or None."""
        proc = self._git(
            "for-each-ref",
            "--format=%(refname:short)",
            f"--points-at={sha}",
            "refs/heads",
            "refs/remotes",
            check=False,
        )
        names = [n for n in ref_names("for-each-ref", proc.stdout) if not n.endswith("/HEAD")]
        return names[0] if names else None

    def relative_to_root(self, path: Path) -> PurePosixPath:
        """``path`` (absolute or relative to the cwd) as a work-tree-relative posix path.

        Tried lexically first, then with symlinks resolved on both sides, so
        a path spelled through a symlinked parent is still recognised.
        """
        root = self._require_work_tree("working tree")
        pairs = (
            (Path(os.path.abspath(path)), root),
            (Path(os.path.realpath(path)), Path(os.path.realpath(root))),
        )
        for candidate, base in pairs:
            try:
                relative = candidate.relative_to(base)
            except ValueError:
                continue
            return PurePosixPath(relative.as_posix())
        raise MergeguardError(
            f"{path} is outside the work tree {root}",
            hint="pass a path inside the repository (or use -C DIR)",
        )

    # ----------------------------------------------------------------- snapshots

    def tree(self, ref: str) -> Snapshot:
        """The committed tree of ``ref``, listed lazily; origin ``ref@sha7``."""
        sha = self.resolve(ref)
        return ObjectSnapshot(f"{ref}@{sha[:7]}", lambda: self._tree_blobs(sha), self.read_blobs)

    def index(self) -> Snapshot:
        """The staged files (what the next commit would hold); origin ``index``."""
        root = self._require_work_tree("index")
        return ObjectSnapshot(
            "index",
            lambda: self._index_listing()[0],
            self.read_blobs,
            partial(self._blob_on_disk, root),
        )

    def worktree(self) -> Snapshot:
        """The files on disk as a user sees them; origin ``worktree``."""
        root = self._require_work_tree("working tree")
        return WorktreeSnapshot(root, self.worktree_blobs, self.worktree_lists)

    def worktree_lists(self, key: str) -> bool | None:
        """True when the work tree snapshot holds the path ``key`` if it is a
        regular file on disk: tracked, or untracked and not ignored (the
        listing ``worktree_blobs`` makes, asked for one path); None when git
        cannot say for that path alone (inside a submodule): list everything."""
        done = self._git(
            "ls-files",
            "--cached",
            "--others",
            "--exclude-standard",
            "-z",
            "--",
            f":(literal){key}",
            check=False,
        )
        if done.returncode != 0:
            return None
        return key in split_z(done.stdout, "ls-files")

    def prefetch_trees(self, shas: Iterable[str | None]) -> None:
        """Start listing the trees of these commits (full ids), each in a
        thread of its own (``git.background``): a check lists two or three,
        which git then lists side by side while mergeguard reads the rest."""
        for sha in shas:
            if sha and sha not in self._trees and sha not in self._listing_trees:
                self._listing_trees[sha] = Background(partial(self._list_tree, sha))

    def _tree_blobs(self, sha: str) -> BlobMap:
        """Path -> blob id of a commit's regular files, memoized by commit."""
        blobs = self._trees.get(sha)
        if blobs is None:
            started = self._listing_trees.pop(sha, None)
            blobs = self._trees[sha] = started.result() if started else self._list_tree(sha)
        return blobs

    def _list_tree(self, sha: str) -> BlobMap:
        return parse_ls_tree(self._git("ls-tree", "-r", "-z", "--full-tree", sha).stdout)

    def _index_listing(self) -> tuple[BlobMap, set[str]]:
        """The index's path -> blob map and its paths git does not verify on disk."""
        return parse_ls_files(self._git("ls-files", "--stage", "-v", "-z").stdout)

    def worktree_blobs(self) -> dict[str, str | None]:
        """Path -> blob id of the files on disk; None where the id must be hashed.

        Starts from the index, drops what is gone from disk, marks what
        ``diff-files`` reports changed (and what git does not verify) for
        hashing, and adds untracked files that are not ignored.  Symlinks and
        directories (embedded repositories) are left out.
        """
        root = self._require_work_tree("working tree")
        indexed, unverified = self._index_listing()
        blobs: dict[str, str | None] = dict(indexed)
        changed = split_z(
            self._git("diff-files", "--name-only", "-z", "--ignore-submodules=all").stdout,
            "diff-files",
        )
        untracked = split_z(
            self._git("ls-files", "--others", "--exclude-standard", "-z").stdout, "ls-files"
        )
        for key in unverified.union(changed, untracked):
            if is_regular_file(root / key):
                blobs[key] = None
            else:
                blobs.pop(key, None)
        return blobs

    def _blob_on_disk(self, root: Path, key: str, blob: str) -> bytes | None:
        """The bytes of the regular file ``key`` of the work tree when they are
        ``blob`` (hashed: the disk is never trusted to match), kept as that
        blob's bytes; else None.  Small files only: a configuration file."""
        found = self._blob_cache.get(blob)
        if found is not None:
            return found
        try:
            data = read_regular_file(root / key, _DISK_READ_BYTES)
        except OSError:  # vanished or unreadable: the index has it
            return None
        if data is None or blob_id(data) != blob:
            return None
        self._blob_cache[blob] = data
        return data

    def read_blobs(self, blob_ids: Iterable[str]) -> dict[str, bytes]:
        """Blob id -> bytes for every id, through one ``cat-file --batch`` for all misses.

        Blobs already read by any snapshot of this repository are not asked
        again (refs share almost all of their files).
        """
        wanted = list(dict.fromkeys(blob_ids))
        missing = [b for b in wanted if b not in self._blob_cache and b != EMPTY_BLOB]
        for blob in missing:
            if not OBJECT_ID.fullmatch(blob):
                raise MergeguardError(f"'{blob}' is not a git object id")
        if missing:
            request = ("\n".join(missing) + "\n").encode("ascii")
            out = self._git("cat-file", "--batch", "--buffer", input=request).stdout
            self._blob_cache.update(parse_batch(out, missing))
        return {b: (b"" if b == EMPTY_BLOB else self._blob_cache[b]) for b in wanted}
