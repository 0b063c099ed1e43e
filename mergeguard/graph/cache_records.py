"""Environment records of the parse cache: one small file per record.

A record (``mergeguard.graph.cache_values.EnvironmentRecord``) is named by a
digest of an environment's listing, and a run reads only the few records of
the snapshots it checks; kept in the main cache file they would be decoded on
every run, whatever it reads (at 5,000 revisions a record is ~30 KB, the
file 1.3 MB).  So each lives in ``records/<key>.json`` beside the cache file,
in the cache file's own format (a header with format, namespace and digest,
then the value), read and written the same way: a regular file of bounded
size, JSON only, written to a temp file and renamed (two runs writing one
record both write the same bytes; a reader never sees a torn file).  At most
``MAX_RECORDS`` files of at most ``MAX_RECORDS_BYTES`` in all are kept, the
least recently used removed first (a record holds its scripts' rows: ~80
bytes a revision).
"""

from __future__ import annotations

import os
import re
import shlex
import stat
from pathlib import Path

from mergeguard.graph import cache as store

# four snapshots of a monorepo's environments, several times over
MAX_RECORDS = 512
MAX_RECORDS_BYTES = 128 * 1024 * 1024  # some three hundred 5,000-revision listings


def default_records_path(common_dir: Path) -> Path:
    """Where a repository keeps its records: beside its cache file."""
    return store.default_cache_path(common_dir).parent / "records"


MAX_RECORD_BYTES = 16 * 1024 * 1024
_KEY = re.compile(r"[0-9a-f]{40}")


class RecordStore:
    """Records by key (a hex digest): in ``directory``, or in memory when it is None."""

    def __init__(
        self, directory: Path | None, namespace: str, warn: store.Warn | None = None
    ) -> None:
        self.directory = None if store.cache_disabled() else directory
        self.namespace = namespace
        self.warn = warn or (lambda message: None)
        self._read: dict[str, object | None] = {}
        self._new: dict[str, object] = {}

    def get(self, key: str) -> object | None:
        """The value recorded under ``key``, or None (absent, damaged, another version)."""
        if key in self._new:
            return self._new[key]
        if key not in self._read:
            self._read[key] = self._load(key)
        return self._read[key]

    def put(self, key: str, value: object) -> None:
        """Record ``value`` (JSON-compatible) under ``key``; written by ``save()``."""
        if _KEY.fullmatch(key) and self.get(key) != value:
            self._new[key] = value

    def save(self) -> None:
        """Write the new records (any OS failure ignored), then keep the
        ``MAX_RECORDS`` most recently used."""
        if self.directory is None or not self._new or not _own_directory(self.directory):
            return
        for key, value in self._new.items():
            text = store.document_text(self.namespace, {"value": value})
            if len(text) <= MAX_RECORD_BYTES:
                store.write_atomically(self.directory / f"{key}.json", text)
        self._read.update(self._new)
        self._new.clear()
        _prune(self.directory, MAX_RECORDS, MAX_RECORDS_BYTES)

    def _load(self, key: str) -> object | None:
        if self.directory is None or not _KEY.fullmatch(key):
            return None
        path = self.directory / f"{key}.json"
        try:
            raw = store.read_regular_file(path, MAX_RECORD_BYTES)
        except store.UnusableFile as exc:
            self.warn(
                f"the parse cache record {path} {exc}; reading without it "
                f"(remove it to re-enable it: rm {shlex.quote(str(path))})"
            )
            return None
        if raw is None:
            return None
        entries, problem = store.parse_document(raw, self.namespace)
        if problem:
            self.warn(f"the parse cache record {path} {problem}; it is rebuilt")
        if entries is None:
            return None
        _touch(path)
        return entries.get("value")


def _own_directory(directory: Path) -> bool:
    """True when ``directory`` is absent or a real directory: records are never
    written, nor files pruned, through a symbolic link to somewhere else."""
    try:
        return stat.S_ISDIR(os.lstat(directory).st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def _prune(directory: Path, keep: int, most_bytes: int) -> None:
    """Remove the oldest record files beyond ``keep`` files or ``most_bytes``
    in all: only files named as records are (a file of another name in the
    directory is not ours)."""
    try:
        with os.scandir(directory) as found:
            files = [
                (e, e.stat(follow_symlinks=False))
                for e in found
                if _KEY.fullmatch(e.name.removesuffix(".json"))
                and e.name.endswith(".json")
                and e.is_file(follow_symlinks=False)
            ]
    except OSError:
        return
    files.sort(key=lambda found: found[1].st_mtime, reverse=True)  # the newest first
    total = 0
    for kept, (_, status) in enumerate(files):  # kept: how many newer ones stay
        total += status.st_size
        if kept >= keep or total > most_bytes:
            break
    else:
        return  # within both bounds
    for entry, _ in files[kept:]:
        try:
            os.unlink(entry.path)
        except OSError:
            continue  # another run removed it first


def _touch(path: Path) -> None:
    """Mark a record as used now: pruning removes the least recently used
    (the base branch's record, read by every run, is never the first to go)."""
    try:
        os.utime(path, follow_symlinks=False)
    except (OSError, NotImplementedError):
        pass  # a read-only cache still serves
