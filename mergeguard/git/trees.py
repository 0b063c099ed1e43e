"""The three git snapshots: a commit's tree, the index, and the working tree.

Each lists its files lazily with one git process (run by the repository that
made it), memoizes the listing, and reads blobs through the repository's one
``git cat-file --batch``; the working tree reads changed and untracked files
from disk instead.  They implement ``mergeguard.git.snapshot.Snapshot``.
"""

from __future__ import annotations

import bisect
import errno
import os
import stat
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath

from mergeguard.errors import MergeguardError
from mergeguard.git.plumbing import BlobMap
from mergeguard.git.snapshot import ROOT, blob_id
from mergeguard.model import FileEntry, SourceFile

# Blob id -> bytes for every id asked: the repository's one ``cat-file --batch``.
ReadBlobs = Callable[[Iterable[str]], dict[str, bytes]]


def _key(path: PurePosixPath | str) -> str:
    """The listing key of a path: its normalised posix spelling, as git prints it."""
    return str(PurePosixPath(path))


# --------------------------------------------------------------------------- listings


class _Listing:
    """The sorted path keys of one snapshot, answering directory and name queries fast.

    Keys are plain strings (a ``PurePosixPath`` is built only for what a query
    returns: repositories hold far more files than migrations).  They are
    sorted by their components, the order ``PurePosixPath`` sorts in, so the
    files below a directory form one contiguous run found by bisection.  That
    order is the string order of the keys with ``/`` read as NUL (lower than
    any character a path can hold), so sorting and bisecting compare plain
    strings, without splitting a key.
    """

    def __init__(self, keys: Iterable[str]) -> None:
        self._sort_keys = sorted(k.replace("/", "\0") for k in keys)
        self._keys = [k.replace("\0", "/") for k in self._sort_keys]
        self._by_name: dict[str, tuple[PurePosixPath, ...]] = {}

    def _span(self, directory: str) -> tuple[int, int]:
        """The slice of keys strictly below ``directory`` (a file named like
        the directory is not below it)."""
        spelled = directory.replace("/", "\0")
        start = bisect.bisect_left(self._sort_keys, spelled + "\0")
        return start, bisect.bisect_left(self._sort_keys, spelled + "\1", start)

    def below(self, directory: str) -> list[str]:
        """Every key strictly below ``directory``, sorted."""
        if directory == ".":
            return list(self._keys)
        start, end = self._span(directory)
        return self._keys[start:end]

    def has_below(self, directory: str) -> bool:
        """True when at least one key lies below ``directory``."""
        if directory == ".":
            return bool(self._keys)
        start, end = self._span(directory)
        return start < end

    def named(self, basename: str) -> tuple[PurePosixPath, ...]:
        """Every path whose last component is ``basename``, sorted (memoized).

        One scan of the keys per name asked: a run asks for a name or two
        (``alembic.ini``) of each snapshot, and indexing every key by its
        name cost more than the scans."""
        found = self._by_name.get(basename)
        if found is None:
            suffix = "/" + basename
            found = (
                ()
                if "/" in basename
                else tuple(_path(k) for k in self._keys if k.endswith(suffix) or k == basename)
            )
            self._by_name[basename] = found
        return found


_PATHS: dict[str, PurePosixPath] = {}


def _path(key: str) -> PurePosixPath:
    """The PurePosixPath of a key, shared by every snapshot of the run (refs
    list mostly the same paths, and building paths is a measurable cost)."""
    path = _PATHS.get(key)
    if path is None:
        path = _PATHS[key] = PurePosixPath(key)
    return path


# --------------------------------------------------------------------------- snapshots


class ListedSnapshot(ABC):
    """Shared behaviour of the three snapshot kinds: a lazy, memoized listing."""

    def __init__(self, origin: str) -> None:
        self._origin = origin
        self._memo: _Listing | None = None
        self._files_memo: dict[str, tuple[FileEntry, ...]] = {}
        self._entries_memo: dict[str, tuple[tuple[str, str], ...]] = {}

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

    def files(self, under: PurePosixPath = ROOT) -> tuple[FileEntry, ...]:
        """Every file below ``under`` with its blob id, sorted by path (memoized)."""
        directory = _key(under)
        files = self._files_memo.get(directory)
        if files is None:
            files = tuple(FileEntry(_path(k), blob) for k, blob in self.entries(under))
            self._files_memo[directory] = files
        return files

    def entries(self, under: PurePosixPath = ROOT) -> tuple[tuple[str, str], ...]:
        """``files`` as plain (path key, blob id) strings: no path objects
        built, for reading and comparing listings (memoized)."""
        directory = _key(under)
        entries = self._entries_memo.get(directory)
        if entries is None:
            keys = self._listing().below(directory)
            entries = tuple(zip(keys, map(self._blob_getter(), keys), strict=True))
            self._entries_memo[directory] = entries
        return entries

    def _blob_getter(self) -> Callable[[str], str]:
        """The blob id of a listed key, as a callable (a dict's own, where it can be)."""
        return self._blob_of

    @abstractmethod
    def blob_map(self) -> Mapping[str, str]:
        """Path key -> blob id of every file (not to be modified; for merging trees)."""

    def is_dir(self, path: PurePosixPath) -> bool:
        """True when some file of the snapshot lies below ``path``."""
        return self._listing().has_below(_key(path))

    def find(self, basename: str) -> tuple[PurePosixPath, ...]:
        """Every file named ``basename`` anywhere in the snapshot, sorted."""
        return self._listing().named(basename)


class ObjectSnapshot(ListedSnapshot):
    """A snapshot whose bytes live in git's object store: a commit's tree or the index."""

    def __init__(
        self,
        origin: str,
        loader: Callable[[], BlobMap],
        read_blobs: ReadBlobs,
        same_on_disk: Callable[[str, str], bytes | None] | None = None,
    ) -> None:
        """``same_on_disk(key, blob)``: the bytes of the file on disk when they
        are that blob (the index: a file staged as it is), else None."""
        super().__init__(origin)
        self._loader = loader
        self._read_blobs = read_blobs
        self._same_on_disk = same_on_disk
        self._blobs: BlobMap = {}

    def _load(self) -> Iterable[str]:
        self._blobs = self._loader()
        return self._blobs.keys()

    def _blob_of(self, key: str) -> str:
        return self._blobs[key]

    def _blob_getter(self) -> Callable[[str], str]:
        return self._blobs.__getitem__

    def blob_map(self) -> Mapping[str, str]:
        self._listing()
        return self._blobs

    def read(self, path: PurePosixPath) -> bytes | None:
        """The bytes of one file, or None when the snapshot has no such file
        (a configuration file, usually: from the disk when it is the staged
        blob there, which spares a git process)."""
        self._listing()
        key = _key(path)
        blob = self._blobs.get(key)
        if blob is None:
            return None
        on_disk = self._same_on_disk(key, blob) if self._same_on_disk else None
        return self._read_blobs([blob])[blob] if on_disk is None else on_disk

    def read_many(self, entries: Sequence[FileEntry]) -> tuple[SourceFile, ...]:
        """The files of ``entries`` with their bytes, in order, from one ``cat-file``."""
        data = self._read_blobs(entry.blob for entry in entries)
        return tuple(
            SourceFile(entry.path, entry.blob, data[entry.blob], self._origin) for entry in entries
        )


class WorktreeSnapshot(ListedSnapshot):
    """The files on disk: tracked ones still present, plus untracked, non-ignored ones.

    Blob ids come from the index for files git reports unchanged; changed and
    untracked files are hashed from disk, lazily, only when ``files()`` lists
    them (a large untracked file elsewhere in the tree is never read).
    """

    def __init__(
        self,
        root: Path,
        loader: Callable[[], dict[str, str | None]],
        lists: Callable[[str], bool | None] | None = None,
    ) -> None:
        """``lists(key)``: whether git lists one path as part of the snapshot
        (tracked, or untracked and not ignored), without listing the rest."""
        super().__init__("worktree")
        self._root = root
        self._loader = loader
        self._lists = lists
        self._blobs: dict[str, str | None] = {}

    def _load(self) -> Iterable[str]:
        self._blobs = self._loader()
        return self._blobs.keys()

    def _blob_of(self, key: str) -> str:
        blob = self._blobs[key]
        if blob is None:
            blob = self._blobs[key] = blob_id(self._read_disk(key))
        return blob

    def blob_map(self) -> Mapping[str, str]:
        self._listing()
        return {key: self._blob_of(key) for key in list(self._blobs)}

    def _read_disk(self, key: PurePosixPath | str) -> bytes:
        """The bytes of a file on disk; a file that vanished meanwhile, or
        became something other than a regular file, is an error."""
        try:
            data = read_regular_file(self._root / key)
        except OSError as exc:
            problem = exc.strerror
        else:
            if data is not None:
                return data
            problem = "not a regular file"
        raise MergeguardError(
            f"cannot read {key} in the work tree: {problem}",
            hint="the file changed while mergeguard ran; run it again",
        )

    def read(self, path: PurePosixPath) -> bytes | None:
        """The bytes of one file on disk, or None when it is not part of the snapshot.

        Before anything is listed, one path is asked of git alone, and only
        when it is a file on disk: a range check reads the work tree's
        settings (pyproject.toml) and nothing else of it, and listing a large
        work tree costs three git runs."""
        key = _key(path)
        if self._memo is None and self._lists is not None:
            if not is_regular_file(self._root / key):
                return None  # not on disk (as a file): nothing to ask git
            listed = self._lists(key)
            if listed is not None:
                return self._read_disk(key) if listed else None
        self._listing()
        return self._read_disk(key) if key in self._blobs else None

    def read_many(self, entries: Sequence[FileEntry]) -> tuple[SourceFile, ...]:
        """The files of ``entries`` read from disk, in order."""
        return tuple(
            SourceFile(entry.path, entry.blob, self._read_disk(entry.path), self._origin)
            for entry in entries
        )


def read_regular_file(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of ``path`` when it is a regular file, not reached through a
    symbolic link (its last part), of at most ``limit`` bytes; else None.
    Opened non-blocking and checked once open, so a FIFO, device or
    directory swapped in after a listing is never read or waited on.  Raises
    OSError when it cannot be opened or read (vanished, unreadable)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        descriptor = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # O_NOFOLLOW refused a symbolic link
            return None
        raise
    try:
        regular = stat.S_ISREG(os.fstat(descriptor).st_mode)
    except OSError:
        os.close(descriptor)
        raise
    if not regular:
        os.close(descriptor)
        return None
    with os.fdopen(descriptor, "rb") as file:  # closes the descriptor
        data = file.read(-1 if limit is None else limit + 1)
    return data if limit is None or len(data) <= limit else None


def is_regular_file(path: Path) -> bool:
    """True when ``path`` is a regular file on disk (not a symlink, not missing)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False
