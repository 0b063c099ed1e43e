"""Git as a source of files: refs, merge bases, and tree / index / worktree snapshots.

This is the only module that talks to git.  It drives the ``git`` executable
with plumbing commands (``rev-parse``, ``ls-tree``, ``ls-files``,
``diff-files``, ``cat-file --batch``) rather than GitPython: a plain subprocess
starts faster than ``import git`` (which alone is a third of the warm-cache
budget), reports a missing git as an error instead of an ImportError, and
gives exact control over what runs.  Nothing here writes the index, the
working tree or any ref: ``GIT_OPTIONAL_LOCKS=0`` is set for every call and no
porcelain (``status``, ``checkout``, ``stash``) is ever run.

Snapshots list their files lazily with one git process, memoize the listing,
and read any number of blobs through one ``git cat-file --batch`` process.
"""

from __future__ import annotations

import bisect
import os
import re
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from mergeguard.errors import MergeguardError
from mergeguard.git import process as bounded_process
from mergeguard.git.snapshot import Snapshot, blob_id
from mergeguard.model import FileEntry, SourceFile

EMPTY_BLOB = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
_REGULAR_MODES = frozenset({"100644", "100755"})
_OBJECT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_ROOT = PurePosixPath(".")
_UNKNOWN_REF_HINT = (
    "check the name with `git branch -a` or `git tag`; "
    "in CI fetch full history (actions/checkout: fetch-depth: 0)"
)

BlobMap = dict[str, str]

# Every git call ends: a git that hangs (a credential prompt, a stuck network
# filesystem, a broken wrapper) would hang CI with it.  Generous, since one
# ``cat-file --batch`` reads every migration of a large repository.
GIT_TIMEOUT_SECONDS = 120.0
GIT_TIMEOUT_VARIABLE = "MERGEGUARD_GIT_TIMEOUT"
# What one git call may print: far more than every migration of a large
# repository in one ``cat-file --batch``, far less than exhausts memory.
GIT_OUTPUT_LIMIT = 256 * 1024**2


# --------------------------------------------------------------------------- running git


def _run_git(
    args: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    input: bytes | None = None,
    check: bool = True,
) -> bounded_process.Finished:
    """The finished ``git`` process (stdout and stderr captured as bytes, bounded).

    With ``check`` a non-zero exit becomes a MergeguardError carrying git's own
    message, so callers never see a CalledProcessError traceback.
    """
    argv = ["git", "-c", "core.quotepath=off", *args]
    timeout = git_timeout(env)
    try:
        proc = bounded_process.run(
            argv, cwd=cwd, env=env, input=input, timeout=timeout, limit=GIT_OUTPUT_LIMIT
        )
    except OSError as exc:
        raise _cannot_start(cwd, exc) from exc
    except bounded_process.TimedOut as exc:
        raise MergeguardError(
            f"git {args[0]} did not finish within {timeout:g} seconds (stopped)",
            hint=f"check that `git {args[0]}` works by hand in {cwd}; "
            f"set {GIT_TIMEOUT_VARIABLE}=SECONDS to allow longer",
        ) from exc
    except bounded_process.TooMuchOutput as exc:
        raise MergeguardError(
            f"git {args[0]} printed more than {GIT_OUTPUT_LIMIT // 1024**2} MiB (stopped)",
            hint="check which git runs (`command -v git`) and that `git --version` works",
        ) from exc
    if check and proc.returncode != 0:
        raise MergeguardError(
            f"git {args[0]} failed: {_message(proc.stderr)}",
            hint="run the same git command by hand to see what git needs",
        )
    return proc


def git_timeout(env: Mapping[str, str]) -> float:
    """Seconds one git call may take: ``MERGEGUARD_GIT_TIMEOUT``, else the default."""
    value = env.get(GIT_TIMEOUT_VARIABLE, "").strip()
    if not value:
        return GIT_TIMEOUT_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds < float("inf"):
        raise MergeguardError(
            f"{GIT_TIMEOUT_VARIABLE}={value!r} is not a number of seconds",
            hint=f"set {GIT_TIMEOUT_VARIABLE} to a positive number, or unset it",
        )
    return seconds


def _cannot_start(cwd: Path, exc: OSError) -> MergeguardError:
    """The error for a git process that could not start: no git, or no directory."""
    if not cwd.is_dir():
        return MergeguardError(f"{cwd} does not exist", hint="pass an existing directory")
    if isinstance(exc, FileNotFoundError):
        return MergeguardError(
            "git is not installed (no `git` executable on PATH)",
            hint="install git, or add it to PATH",
        )
    return MergeguardError(f"cannot run git: {exc}", hint="check that git is installed")


def _garbled(command: str, out: bytes) -> MergeguardError:
    """The error for git output that is not what the command prints."""
    excerpt = out[:60].decode("utf-8", errors="replace")
    more = f" ... ({len(out)} bytes)" if len(out) > 60 else ""
    return MergeguardError(
        f"git {command} printed something git does not print: {excerpt!r}{more}",
        hint="check which git runs (`command -v git`) and that `git --version` works",
    )


def _object_id(command: str, out: bytes) -> str:
    """The one object id ``out`` holds (``rev-parse``, ``merge-base``), else an error."""
    text = out.strip()
    if not _OBJECT_ID.fullmatch(text.decode("ascii", errors="replace")):
        raise _garbled(command, out)
    return text.decode("ascii")


# What ``git check-ref-format`` never allows in a ref name (and so never prints).
_NOT_IN_REF_NAMES = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{")


def _ref_names(command: str, out: bytes) -> list[str]:
    """The ref names of ``out``, one a line; an error when one could not be a ref."""
    names = [n for n in out.decode("utf-8", errors="replace").split("\n") if n]
    if any(_NOT_IN_REF_NAMES.search(n) for n in names):
        raise _garbled(command, out)
    return names


def _absolute_directory(command: str, out: bytes, text: str) -> Path:
    """A directory git printed: absolute, existing, else an error."""
    if "\0" in text or not os.path.isabs(text) or not os.path.isdir(text):
        raise _garbled(command, out)
    return Path(text)


def _message(stderr: bytes) -> str:
    """git's error text joined on one line, for a message that fits a terminal line."""
    text = stderr.decode("utf-8", errors="replace").strip()
    return " ".join(line.strip() for line in text.splitlines() if line.strip()) or "no message"


def _base_env() -> dict[str, str]:
    """The caller's environment, with optional locks off and GIT_INDEX_FILE absolute.

    ``GIT_INDEX_FILE`` is kept (a pre-commit hook run by ``git commit -a``
    points it at the index being committed) but made absolute, because git
    runs later with another working directory.
    """
    env = dict(os.environ)
    env["GIT_OPTIONAL_LOCKS"] = "0"
    index_file = env.get("GIT_INDEX_FILE")
    if index_file:
        env["GIT_INDEX_FILE"] = os.path.abspath(index_file)
    return env


def _split_z(out: bytes, command: str) -> list[str]:
    """The records of a ``-z`` (NUL-terminated) git output, decoded, without the empty tail.

    Decoded once as a whole with the filesystem encoding (undecodable bytes
    kept as surrogates), so a path maps back to the same file on disk.
    Output that does not end in NUL is not git's: an error.
    """
    if out and not out.endswith(b"\0"):
        raise _garbled(command, out)
    return [record for record in os.fsdecode(out).split("\0") if record]


def _records(pattern: re.Pattern[str], out: bytes, command: str) -> list[tuple[str, ...]]:
    """The groups of every ``pattern`` record in ``out``, which must consist of them."""
    text = os.fsdecode(out)
    found: list[tuple[str, ...]] = []
    end = 0
    for match in pattern.finditer(text):
        if match.start() != end:
            break
        found.append(match.groups())
        end = match.end()
    if end != len(text):
        raise _garbled(command, out)
    return found


def _key(path: PurePosixPath | str) -> str:
    """The listing key of a path: its normalised posix spelling, as git prints it."""
    return str(PurePosixPath(path))


def _parts(key: str) -> list[str]:
    """The components of a listing key: sorting by them is ``PurePosixPath`` order."""
    return key.split("/")


# --------------------------------------------------------------------------- parsing listings

# One match per NUL-terminated record, anchored at a record start.
_LS_TREE = re.compile(r"(?<![^\0])(\d+) \w+ ([0-9a-f]+)\t([^\0]*)\0")
_LS_FILES = re.compile(r"(?<![^\0])(\S) (\d+) ([0-9a-f]+) (\d)\t([^\0]*)\0")


def _parse_ls_tree(out: bytes) -> BlobMap:
    """Path -> blob id of the regular files in ``ls-tree -r -z`` output.

    Gitlinks (submodules, mode 160000) and symlinks (120000) are skipped: only
    regular files can be migrations or configuration.
    """
    records = _records(_LS_TREE, out, "ls-tree")
    return {path: sha for mode, sha, path in records if mode in _REGULAR_MODES}


def _parse_ls_files(out: bytes) -> tuple[BlobMap, set[str]]:
    """Path -> staged blob id from ``ls-files -s -v -z``, and the unverified paths.

    Stage 0 is the normal entry; a path in conflict (stages 1/2/3 only) is
    taken at stage 2, "ours".  Unverified paths are those git does not check
    against the disk (skip-worktree ``S``, assume-unchanged lowercase tags):
    their work-tree content must be hashed, never trusted to match the index.
    """
    blobs: BlobMap = {}
    unverified: set[str] = set()
    for tag, mode, sha, stage, path in _records(_LS_FILES, out, "ls-files"):
        if mode not in _REGULAR_MODES or stage not in ("0", "2"):
            continue
        blobs[path] = sha
        if tag == "S" or tag.islower():
            unverified.add(path)
    return blobs, unverified


def _parse_batch(out: bytes, wanted: Sequence[str]) -> dict[str, bytes]:
    """Blob id -> bytes from a ``cat-file --batch`` stream answering ``wanted`` in order.

    Each answer is ``<id> blob <size>\\n<data>\\n``; anything else (``missing``,
    a tree, a truncated stream) is a MergeguardError naming the object.
    """
    found: dict[str, bytes] = {}
    pos = 0
    for wanted_id in wanted:
        eol = out.find(b"\n", pos)
        header = out[pos:eol].split(b" ") if eol >= 0 else []
        if len(header) != 3 or header[1] != b"blob" or header[0] != wanted_id.encode():
            raise MergeguardError(
                f"git object {wanted_id} is missing or is not a file",
                hint="run `git fsck`; in a partial clone, fetch the missing objects first",
            )
        start = eol + 1
        end = start + int(header[2]) if header[2].isdigit() else len(out) + 1
        if end > len(out):
            raise _garbled("cat-file", out[pos:])
        found[wanted_id] = out[start:end]
        pos = end + 1
    return found


# --------------------------------------------------------------------------- listings


class _Listing:
    """The sorted path keys of one snapshot, answering directory and name queries fast.

    Keys are plain strings (a ``PurePosixPath`` is built only for what a query
    returns: repositories hold far more files than migrations).  They are
    sorted by their components, the order ``PurePosixPath`` sorts in, so the
    files below a directory form one contiguous run found by bisection.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = sorted(keys, key=_parts)
        self._by_name: dict[str, list[str]] | None = None

    def _first_below(self, directory: str) -> int:
        """Index of the first key strictly below ``directory`` (if any is)."""
        start = bisect.bisect_left(self._keys, _dir_parts(directory), key=_parts)
        if start < len(self._keys) and self._keys[start] == directory:
            start += 1  # a file named like the directory is not below it
        return start

    def below(self, directory: str) -> list[str]:
        """Every key strictly below ``directory``, sorted."""
        if directory == ".":
            return list(self._keys)
        prefix = directory + "/"
        start = end = self._first_below(directory)
        while end < len(self._keys) and self._keys[end].startswith(prefix):
            end += 1
        return self._keys[start:end]

    def has_below(self, directory: str) -> bool:
        """True when at least one key lies below ``directory``."""
        if directory == ".":
            return bool(self._keys)
        start = self._first_below(directory)
        return start < len(self._keys) and self._keys[start].startswith(directory + "/")

    def named(self, basename: str) -> tuple[PurePosixPath, ...]:
        """Every path whose last component is ``basename``, sorted."""
        if self._by_name is None:
            by_name: dict[str, list[str]] = {}
            for key in self._keys:
                by_name.setdefault(key.rpartition("/")[2], []).append(key)
            self._by_name = by_name
        return tuple(_path(k) for k in self._by_name.get(basename, ()))


_PATHS: dict[str, PurePosixPath] = {}


def _path(key: str) -> PurePosixPath:
    """The PurePosixPath of a key, shared by every snapshot of the run (refs
    list mostly the same paths, and building paths is a measurable cost)."""
    path = _PATHS.get(key)
    if path is None:
        path = _PATHS[key] = PurePosixPath(key)
    return path


def _dir_parts(directory: str) -> list[str]:
    """The components of a directory key (none for the root ``.``)."""
    return [] if directory == "." else _parts(directory)


# --------------------------------------------------------------------------- snapshots


class _ListedSnapshot(ABC):
    """Shared behaviour of the three snapshot kinds: a lazy, memoized listing."""

    def __init__(self, origin: str) -> None:
        self._origin = origin
        self._memo: _Listing | None = None
        self._files_memo: dict[str, tuple[FileEntry, ...]] = {}

    @property
    def origin(self) -> str:
        """Names the snapshot in messages: ``main@3f2c1a0``, ``index``, ``worktree``."""
        return self._origin

    @abstractmethod
    def _load(self) -> Iterable[str]:
        """The path keys of the snapshot (computed once, on first use)."""

    @abstractmethod
    def _blob_of(self, key: str) -> str:
        """The blob id of a listed path key."""

    def _listing(self) -> _Listing:
        """The memoized listing: git runs once per snapshot, whatever is asked."""
        if self._memo is None:
            self._memo = _Listing(self._load())
        return self._memo

    def files(self, under: PurePosixPath = _ROOT) -> tuple[FileEntry, ...]:
        """Every file below ``under`` with its blob id, sorted by path (memoized)."""
        directory = _key(under)
        entries = self._files_memo.get(directory)
        if entries is None:
            keys = self._listing().below(directory)
            entries = tuple(FileEntry(_path(k), self._blob_of(k)) for k in keys)
            self._files_memo[directory] = entries
        return entries

    def is_dir(self, path: PurePosixPath) -> bool:
        """True when some file of the snapshot lies below ``path``."""
        return self._listing().has_below(_key(path))

    def find(self, basename: str) -> tuple[PurePosixPath, ...]:
        """Every file named ``basename`` anywhere in the snapshot, sorted."""
        return self._listing().named(basename)


class _ObjectSnapshot(_ListedSnapshot):
    """A snapshot whose bytes live in git's object store: a commit's tree or the index."""

    def __init__(self, repo: GitRepository, origin: str, loader: Callable[[], BlobMap]) -> None:
        super().__init__(origin)
        self._repo = repo
        self._loader = loader
        self._blobs: BlobMap = {}

    def _load(self) -> Iterable[str]:
        self._blobs = self._loader()
        return self._blobs.keys()

    def _blob_of(self, key: str) -> str:
        return self._blobs[key]

    def read(self, path: PurePosixPath) -> bytes | None:
        """The bytes of one file, or None when the snapshot has no such file."""
        self._listing()
        blob = self._blobs.get(_key(path))
        return None if blob is None else self._repo.read_blobs([blob])[blob]

    def read_many(self, entries: Sequence[FileEntry]) -> tuple[SourceFile, ...]:
        """The files of ``entries`` with their bytes, in order, from one ``cat-file``."""
        data = self._repo.read_blobs(entry.blob for entry in entries)
        return tuple(
            SourceFile(entry.path, entry.blob, data[entry.blob], self._origin) for entry in entries
        )


class _WorktreeSnapshot(_ListedSnapshot):
    """The files on disk: tracked ones still present, plus untracked, non-ignored ones.

    Blob ids come from the index for files git reports unchanged; changed and
    untracked files are hashed from disk, lazily, only when ``files()`` lists
    them (a large untracked file elsewhere in the tree is never read).
    """

    def __init__(self, repo: GitRepository, root: Path) -> None:
        super().__init__("worktree")
        self._repo = repo
        self._root = root
        self._blobs: dict[str, str | None] = {}

    def _load(self) -> Iterable[str]:
        self._blobs = self._repo.worktree_blobs()
        return self._blobs.keys()

    def _blob_of(self, key: str) -> str:
        blob = self._blobs[key]
        if blob is None:
            blob = self._blobs[key] = blob_id(self._read_disk(key))
        return blob

    def _read_disk(self, key: PurePosixPath | str) -> bytes:
        """The bytes of a file on disk; a file that vanished meanwhile is an error."""
        try:
            return (self._root / key).read_bytes()
        except OSError as exc:
            raise MergeguardError(
                f"cannot read {key} in the work tree: {exc.strerror}",
                hint="the file changed while mergeguard ran; run it again",
            ) from exc

    def read(self, path: PurePosixPath) -> bytes | None:
        """The bytes of one file on disk, or None when it is not part of the snapshot."""
        self._listing()
        key = _key(path)
        return self._read_disk(key) if key in self._blobs else None

    def read_many(self, entries: Sequence[FileEntry]) -> tuple[SourceFile, ...]:
        """The files of ``entries`` read from disk, in order."""
        return tuple(
            SourceFile(entry.path, entry.blob, self._read_disk(entry.path), self._origin)
            for entry in entries
        )


# --------------------------------------------------------------------------- repository


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
        self._env = _base_env()
        self._env["GIT_DIR"] = str(git_dir)
        if work_tree is None:
            self._env.pop("GIT_WORK_TREE", None)
        else:
            self._env["GIT_WORK_TREE"] = str(work_tree)
        self._resolved: dict[str, str] = {}
        self._trees: dict[str, BlobMap] = {}
        self._blob_cache: dict[str, bytes] = {}

    def __repr__(self) -> str:
        return f"GitRepository(work_tree={self.work_tree!r}, git_dir={self.git_dir!r})"

    def _git(
        self, *args: str, input: bytes | None = None, check: bool = True
    ) -> bounded_process.Finished:
        """The finished git process, run at this repository with its environment."""
        cwd = self.work_tree or self.git_dir
        return _run_git(args, cwd=cwd, env=self._env, input=input, check=check)

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
        return sha

    def _rev_parse_commit(self, ref: str) -> str:
        """``git rev-parse --verify ref^{commit}``; unknown refs raise."""
        proc = None
        if ref and not ref.startswith("-") and "\n" not in ref:
            proc = self._git(  # not --quiet: git warns of an ambiguous name on stderr
                "rev-parse", "--verify", "--end-of-options", f"{ref}^{{commit}}", check=False
            )
        if proc is None or proc.returncode != 0:
            raise MergeguardError(f"unknown git ref '{ref}'", hint=_UNKNOWN_REF_HINT)
        sha = _object_id("rev-parse", proc.stdout)
        if b"is ambiguous" in proc.stderr:
            raise MergeguardError(
                f"'{ref}' is ambiguous: a tag and a branch (or another ref) share the name, "
                f"and git would read {sha[:7]}",
                hint=f"name the one you mean: refs/heads/{ref} or refs/tags/{ref}",
            )
        return sha

    def merge_base(self, a: str, b: str) -> str | None:
        """The best common ancestor of two refs, or None when they share no history."""
        proc = self._git("merge-base", self.resolve(a), self.resolve(b), check=False)
        if proc.returncode == 1 and not proc.stdout.strip():
            return None
        if proc.returncode != 0:
            raise MergeguardError(
                f"git merge-base {a} {b} failed: {_message(proc.stderr)}",
                hint="in CI fetch full history (fetch-depth: 0)",
            )
        return _object_id("merge-base", proc.stdout)

    def parents(self, ref: str) -> tuple[str, ...]:
        """The parent commit ids of ``ref``, in order (two or more for a merge)."""
        proc = self._git("rev-list", "--parents", "-n", "1", self.resolve(ref), check=False)
        ids = tuple(proc.stdout.decode("ascii", errors="replace").split()[1:])
        if not all(_OBJECT_ID.fullmatch(sha) for sha in ids):
            raise _garbled("rev-list", proc.stdout)
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
        return first if _OBJECT_ID.fullmatch(first) else None

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
            if _OBJECT_ID.fullmatch(onto):
                return onto, head.removeprefix("refs/heads/")
        return None

    def current_branch(self) -> str | None:
        """The short name of the checked-out branch, or None when HEAD is detached."""
        proc = self._git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if proc.returncode != 0:
            return None
        names = _ref_names("symbolic-ref", proc.stdout.strip())
        return names[0] if names else None

    def upstream(self) -> str | None:
        """The current branch's upstream (e.g. ``origin/main``), or None if it has none."""
        proc = self._git(
            "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{upstream}", check=False
        )
        if proc.returncode != 0:
            return None
        names = _ref_names("rev-parse", proc.stdout.strip())
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
        ``<remote>/master`` (short names, e.g. ``origin/main``), else None."""
        proc = self._git(
            "symbolic-ref", "--quiet", "--short", f"refs/remotes/{remote}/HEAD", check=False
        )
        names = _ref_names("symbolic-ref", proc.stdout.strip()) if proc.returncode == 0 else []
        if names and self.exists(names[0]):
            return names[0]
        for candidate in (f"{remote}/main", f"{remote}/master"):
            if self.exists(f"refs/remotes/{candidate}"):
                return candidate
        return None

    def local_default_branch(self) -> str | None:
        """``main`` or ``master`` when such a local branch exists (a repository
        without a remote), else None."""
        for candidate in ("main", "master"):
            if self.exists(f"refs/heads/{candidate}"):
                return candidate
        return None

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
        names = _ref_names("for-each-ref", proc.stdout)
        return tuple(sorted({n for n in names if not n.endswith("/HEAD")}))

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
        names = [n for n in _ref_names("for-each-ref", proc.stdout) if not n.endswith("/HEAD")]
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
        return _ObjectSnapshot(self, f"{ref}@{sha[:7]}", lambda: self._tree_blobs(sha))

    def index(self) -> Snapshot:
        """The staged files (what the next commit would hold); origin ``index``."""
        self._require_work_tree("index")
        return _ObjectSnapshot(self, "index", lambda: self._index_listing()[0])

    def worktree(self) -> Snapshot:
        """The files on disk as a user sees them; origin ``worktree``."""
        return _WorktreeSnapshot(self, self._require_work_tree("working tree"))

    def conflicted_paths(self) -> tuple[PurePosixPath, ...]:
        """Paths with unmerged index entries (a merge in conflict), sorted."""
        self._require_work_tree("index")
        out = self._git("ls-files", "--unmerged", "-z").stdout
        keys = {record.partition("\t")[2] for record in _split_z(out, "ls-files")}
        return tuple(sorted(PurePosixPath(key) for key in keys))

    def _tree_blobs(self, sha: str) -> BlobMap:
        """Path -> blob id of a commit's regular files, memoized by commit."""
        blobs = self._trees.get(sha)
        if blobs is None:
            out = self._git("ls-tree", "-r", "-z", "--full-tree", sha).stdout
            blobs = self._trees[sha] = _parse_ls_tree(out)
        return blobs

    def _index_listing(self) -> tuple[BlobMap, set[str]]:
        """The index's path -> blob map and its paths git does not verify on disk."""
        return _parse_ls_files(self._git("ls-files", "--stage", "-v", "-z").stdout)

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
        changed = _split_z(
            self._git("diff-files", "--name-only", "-z", "--ignore-submodules=all").stdout,
            "diff-files",
        )
        untracked = _split_z(
            self._git("ls-files", "--others", "--exclude-standard", "-z").stdout, "ls-files"
        )
        for key in unverified.union(changed, untracked):
            if _is_regular_file(root / key):
                blobs[key] = None
            else:
                blobs.pop(key, None)
        return blobs

    def read_blobs(self, blob_ids: Iterable[str]) -> dict[str, bytes]:
        """Blob id -> bytes for every id, through one ``cat-file --batch`` for all misses.

        Blobs already read by any snapshot of this repository are not asked
        again (refs share almost all of their files).
        """
        wanted = list(dict.fromkeys(blob_ids))
        missing = [b for b in wanted if b not in self._blob_cache and b != EMPTY_BLOB]
        for blob in missing:
            if not _OBJECT_ID.fullmatch(blob):
                raise MergeguardError(f"'{blob}' is not a git object id")
        if missing:
            request = ("\n".join(missing) + "\n").encode("ascii")
            out = self._git("cat-file", "--batch", "--buffer", input=request).stdout
            self._blob_cache.update(_parse_batch(out, missing))
        return {b: (b"" if b == EMPTY_BLOB else self._blob_cache[b]) for b in wanted}


def _is_regular_file(path: Path) -> bool:
    """True when ``path`` is a regular file on disk (not a symlink, not missing)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


# --------------------------------------------------------------------------- opening


def open_repository(start: Path) -> GitRepository:
    """The repository containing ``start`` (searching parent directories).

    Works for a normal checkout, a linked worktree and a bare repository
    (``start`` = ``path/to/repo.git``).  Not a repository, or no git
    installed, is a MergeguardError naming the directory.
    """
    directory = _start_directory(start)
    env = _base_env()
    proc = _run_git(
        [
            "rev-parse",
            "--path-format=absolute",
            "--git-dir",
            "--git-common-dir",
            "--is-bare-repository",
        ],
        cwd=directory,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise _not_a_repository(directory, proc.stderr)
    lines = os.fsdecode(proc.stdout).splitlines()
    if len(lines) < 3 or lines[2] not in ("true", "false"):
        raise _garbled("rev-parse", proc.stdout)
    git_dir = _absolute_directory("rev-parse", proc.stdout, lines[0])
    common_dir = _absolute_directory("rev-parse", proc.stdout, lines[1])
    work_tree = None if lines[2] == "true" else _work_tree(directory, env, git_dir)
    return GitRepository(work_tree, git_dir, common_dir)


def _start_directory(start: Path) -> Path:
    """The absolute directory to search from (a file's parent); missing is an error."""
    directory = Path(os.path.abspath(start))
    if directory.is_file():
        directory = directory.parent
    if not directory.is_dir():
        raise MergeguardError(
            f"{directory} does not exist", hint="pass an existing directory with -C DIR"
        )
    return directory


def _not_a_repository(directory: Path, stderr: bytes) -> MergeguardError:
    """The error for a failed discovery: plain "not a repository", or git's reason."""
    message = _message(stderr)
    if "not a git repository" in message:
        return MergeguardError(
            f"{directory} is not in a git repository",
            hint="run mergeguard inside a git work tree, or point -C DIR at one",
        )
    hint = "see git's message above"
    if "safe.directory" in message:
        hint = "mark the repository as safe with `git config --global --add safe.directory DIR`"
    return MergeguardError(f"cannot open the git repository at {directory}: {message}", hint)


def _work_tree(directory: Path, env: Mapping[str, str], git_dir: Path) -> Path:
    """The work tree root of a non-bare repository seen from ``directory``.

    From inside a main ``.git`` directory git has no top level to show; its
    parent is then the work tree.
    """
    proc = _run_git(["rev-parse", "--show-toplevel"], cwd=directory, env=env, check=False)
    top = os.fsdecode(proc.stdout).strip()
    if proc.returncode == 0 and top:
        return _absolute_directory("rev-parse", proc.stdout, top)
    if git_dir.name == ".git":
        return git_dir.parent
    raise MergeguardError(
        f"{directory} is inside the git directory {git_dir}, not in a work tree",
        hint="run mergeguard from the work tree, or pass -C DIR",
    )
