"""The read-only view of one tree that the core works on.

``Snapshot`` is the interface between git (``mergeguard.git.trees`` implements
it for a git ref, the index and the working tree) and the code that reads
files (``config``, ``graph``): they ask for files by repository-relative path
and never see a repository object.  ``MemoryTree`` implements it over a dict, for code
that builds trees itself (tests of config, merged scenarios).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from mergeguard.model import FileEntry, SourceFile

ROOT = PurePosixPath(".")

if TYPE_CHECKING:
    from hashlib import sha1
else:
    try:  # hashlib's own SHA-1, without the OpenSSL bindings hashlib loads first (2 ms)
        from _sha1 import sha1
    except ImportError:  # an interpreter built without it
        from hashlib import sha1


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what ``git hash-object`` prints)."""
    digest = sha1(b"blob %d\0" % len(data))
    digest.update(data)
    return digest.hexdigest()


def is_under(path: PurePosixPath, directory: PurePosixPath) -> bool:
    """True when ``path`` lies inside ``directory`` (``.`` is the root)."""
    if directory == PurePosixPath("."):
        return True
    return path.parts[: len(directory.parts)] == directory.parts and path != directory


class Snapshot(Protocol):
    """A tree of files at one point: a commit, the index or the working tree."""

    @property
    def origin(self) -> str:
        """Names the snapshot in messages: ``main@3f2c1a0``, ``index``, ``worktree``."""
        ...

    def files(self, under: PurePosixPath = ROOT) -> tuple[FileEntry, ...]:
        """Every file below ``under`` (recursively), sorted by path; empty if none."""
        ...

    def read(self, path: PurePosixPath) -> bytes | None:
        """The bytes of one file, or None when the snapshot has no such file."""
        ...

    def read_many(self, entries: Sequence[FileEntry]) -> tuple[SourceFile, ...]:
        """The files of ``entries`` with their bytes, in the same order."""
        ...

    def is_dir(self, path: PurePosixPath) -> bool:
        """True when some file lies below ``path``."""
        ...

    def find(self, basename: str) -> tuple[PurePosixPath, ...]:
        """Every file named ``basename`` anywhere in the snapshot, sorted."""
        ...


# (path key, blob id) pairs below a directory, sorted as ``files`` sorts them:
# the listing as plain strings, what reading and comparing trees need.
Entries = Sequence[tuple[str, str]]


@runtime_checkable
class ListsEntries(Protocol):
    """A snapshot that lists plain (path, blob) strings without building paths."""

    def entries(self, under: PurePosixPath = ROOT) -> Entries:
        """Every (path key, blob id) below ``under``, in ``files`` order."""
        ...


def entries_of(snapshot: Snapshot, under: PurePosixPath = ROOT) -> Entries:
    """The (path key, blob id) pairs below ``under``: the snapshot's own
    string listing when it has one (git's snapshots do), else from ``files``."""
    if isinstance(snapshot, ListsEntries):
        return snapshot.entries(under)
    return tuple((str(entry.path), entry.blob) for entry in snapshot.files(under))


class MemoryTree:
    """A ``Snapshot`` over an in-memory mapping of path -> bytes."""

    def __init__(self, files: Mapping[str | PurePosixPath, bytes | str], origin: str = "memory"):
        self._files = {
            PurePosixPath(p): (v.encode() if isinstance(v, str) else v) for p, v in files.items()
        }
        self._origin = origin

    @property
    def origin(self) -> str:
        return self._origin

    def files(self, under: PurePosixPath = ROOT) -> tuple[FileEntry, ...]:
        return tuple(
            FileEntry(path, blob_id(data))
            for path, data in sorted(self._files.items())
            if is_under(path, under)
        )

    def read(self, path: PurePosixPath) -> bytes | None:
        return self._files.get(PurePosixPath(path))

    def read_many(self, entries: Sequence[FileEntry]) -> tuple[SourceFile, ...]:
        return tuple(SourceFile(e.path, e.blob, self._files[e.path], self._origin) for e in entries)

    def is_dir(self, path: PurePosixPath) -> bool:
        return any(is_under(p, path) for p in self._files)

    def find(self, basename: str) -> tuple[PurePosixPath, ...]:
        return tuple(sorted(p for p in self._files if p.name == basename))
