"""What ``git merge`` would leave, by path, as a snapshot (``check A..B``'s merged side).

A path changed on one side only takes that side; changed on both
(differently) takes ours and is a conflict; deleted on one side and untouched
on the other is deleted.  The merge works on the sides' plain path -> blob
maps and looks only at the paths where theirs and ours differ (a range
changes a few files of thousands); path objects are built only for what is
asked, as for git's own snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import PurePosixPath

from mergeguard.git.snapshot import Snapshot, entries_of
from mergeguard.git.trees import ListedSnapshot
from mergeguard.model import FileEntry, SourceFile


def blob_map(snapshot: Snapshot) -> Mapping[str, str]:
    """Path key -> blob id of every file of ``snapshot``."""
    if isinstance(snapshot, ListedSnapshot):
        return snapshot.blob_map()
    return dict(entries_of(snapshot))


def merge_maps(
    base: Mapping[str, str], theirs: Mapping[str, str], ours: Mapping[str, str]
) -> tuple[dict[str, str], set[str], list[str]]:
    """(path -> merged blob, the paths taken from theirs, the conflicting paths)."""
    merged = dict(ours)
    from_theirs: set[str] = set()
    conflicts: list[str] = []
    differing = {key for key, _ in theirs.items() ^ ours.items()}
    for key in differing:
        b, t, o = base.get(key), theirs.get(key), ours.get(key)
        if t == b:
            continue  # only ours changed it (or neither did): ours, already in
        if o == b:
            from_theirs.add(key)
            if t is None:
                merged.pop(key, None)
            else:
                merged[key] = t
        else:
            conflicts.append(key)
    return merged, from_theirs, conflicts


class MergedSnapshot(ListedSnapshot):
    """A ``Snapshot`` of the three-way merge of ``theirs`` and ``ours`` from ``base``."""

    def __init__(self, base: Snapshot, theirs: Snapshot, ours: Snapshot, origin: str) -> None:
        super().__init__(origin)
        self._theirs, self._ours = theirs, ours
        self._blobs, self._from_theirs, conflicts = merge_maps(
            blob_map(base), blob_map(theirs), blob_map(ours)
        )
        self.conflicts = tuple(sorted(PurePosixPath(key) for key in conflicts))

    def _load(self) -> Iterable[str]:
        return self._blobs.keys()

    def _blob_of(self, key: str) -> str:
        return self._blobs[key]

    def _blob_getter(self) -> Callable[[str], str]:
        return self._blobs.__getitem__

    def blob_map(self) -> Mapping[str, str]:
        return self._blobs

    def _source(self, key: str) -> Snapshot:
        return self._theirs if key in self._from_theirs else self._ours

    def read(self, path: PurePosixPath) -> bytes | None:
        key = str(PurePosixPath(path))
        return self._source(key).read(path) if key in self._blobs else None

    def read_many(self, entries: Sequence[FileEntry]) -> tuple[SourceFile, ...]:
        """Each file read through the side it was taken from (one batch per side)."""
        theirs = [e for e in entries if str(e.path) in self._from_theirs]
        ours = [e for e in entries if str(e.path) not in self._from_theirs]
        found: dict[PurePosixPath, SourceFile] = {}
        for side, group in ((self._theirs, theirs), (self._ours, ours)):
            for item in side.read_many(group) if group else ():
                found[item.path] = SourceFile(item.path, item.blob, item.text, self.origin)
        return tuple(found[e.path] for e in entries)
