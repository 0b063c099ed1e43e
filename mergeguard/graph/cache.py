"""Parse results keyed by content: a kind (what was computed) and a git blob id.

One file per repository, under its common git directory, shared by all
worktrees.  The file is untrusted input:

- it is opened only when it is a regular file (not a symbolic link, FIFO,
  device or directory) of at most ``MAX_FILE_BYTES``, and read with ``json``
  only (never pickle or marshal);
- its first line is a header (format, namespace, a digest of the rest); the
  second line holds the entries.  A digest that does not match (a damaged or
  hand-edited file) discards the whole file: a well-formed row with a wrong
  revision, line or operation kind cannot be told from a right one otherwise.
  The digest is a checksum, not a signature: whoever can write ``.git`` can
  run code there anyway (hooks);
- every row is an envelope ``[blob, namespace, value]``: a row is used only for
  the blob and reader version it claims, so a row can never answer for
  another blob.  Callers validate the value's shape and sizes.

The cache is an optimisation: failing to read or write it is never an error.
A cache that cannot be used is reported once, through ``warn``, with what to
do about it; a file of another format or namespace (an upgrade) is replaced
silently on the next save.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import stat
import time
from collections.abc import Callable
from pathlib import Path

try:  # hashlib's own blake2b, without the OpenSSL bindings hashlib loads first (2 ms a run)
    from _blake2 import blake2b as blake2b
except ImportError:  # an interpreter built without it
    from hashlib import blake2b as blake2b

FORMAT = 2
MAX_ENTRIES = 200_000
MAX_FILE_BYTES = 64 * 1024 * 1024
NO_CACHE_ENV = "MERGEGUARD_NO_CACHE"

Warn = Callable[[str], None]


def default_cache_path(common_dir: Path) -> Path:
    """Where a repository keeps its cache: ``<common git dir>/mergeguard/cache-v1.json``.

    Under the common directory so linked worktrees share one cache.
    """
    return common_dir / "mergeguard" / "cache-v1.json"


def default_operations_path(common_dir: Path) -> Path:
    """Where a repository keeps the operations of its files, beside the cache
    file: a check reads the few it compares without decoding every row."""
    return default_cache_path(common_dir).with_name("operations-v1.json")


def cache_disabled() -> bool:
    """True when ``MERGEGUARD_NO_CACHE`` asks for no on-disk cache (benchmarks)."""
    return os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0")


def _ignore(message: str) -> None:
    """The default ``warn``: library callers get no output."""


class ParseCache:
    """A store of JSON-compatible values by (kind, blob), loaded lazily, saved atomically.

    ``path=None`` (or ``MERGEGUARD_NO_CACHE=1``) keeps it in memory only.
    Values come back from ``get`` as JSON gives them on a later run (tuples
    become lists), so callers should store lists, dicts, strings, numbers,
    booleans; a stored ``null`` reads as a miss.
    """

    def __init__(self, path: Path | None, namespace: str, warn: Warn | None = None) -> None:
        self.path = None if cache_disabled() else path
        self.namespace = namespace
        self.warn = warn or _ignore
        self._entries: dict[str, object] | None = None
        self._touched: set[str] = set()
        self._dirty = False
        self._usable = True  # False: the path holds something that is not ours to replace

    def __len__(self) -> int:
        return len(self._load())

    def get(self, kind: str, blob: str) -> object | None:
        """The value stored for ``blob`` under ``kind``, or None on a miss
        (also when the row claims another blob or reader version)."""
        key = kind + blob
        entries = self._entries  # loaded already, but on a run's first get
        envelope = (self._load() if entries is None else entries).get(key)
        if (
            type(envelope) is not list
            or len(envelope) != 3
            or envelope[0] != blob
            or envelope[1] != self.namespace
            or envelope[2] is None
        ):
            return None
        self._touched.add(key)
        value: object = envelope[2]
        return value

    def put(self, kind: str, blob: str, value: object) -> None:
        """Store ``value`` (JSON-compatible) for ``blob`` under ``kind``; saved by ``save()``."""
        entries = self._load()
        key = kind + blob
        envelope = [blob, self.namespace, value]
        self._touched.add(key)
        if entries.get(key) != envelope:
            entries[key] = envelope
            self._dirty = True

    def save(self) -> None:
        """Write the cache atomically when it changed; any OS failure is ignored.

        Beyond ``MAX_ENTRIES`` (or ``MAX_FILE_BYTES``) only the entries used
        in this run are kept, so the file stays bounded however many
        histories pass through it.
        """
        if self.path is None or not self._dirty or self._entries is None or not self._usable:
            return
        entries = self._entries
        if len(entries) > MAX_ENTRIES:
            entries = {k: v for k, v in entries.items() if k in self._touched}
        text = document_text(self.namespace, entries)
        if len(text) > MAX_FILE_BYTES:
            entries = {k: v for k, v in entries.items() if k in self._touched}
            text = document_text(self.namespace, entries)
        if len(text) <= MAX_FILE_BYTES and write_atomically(self.path, text):
            self._entries = entries
            self._dirty = False

    def _load(self) -> dict[str, object]:
        """The entries, read from disk on first use (empty if absent or untrusted)."""
        if self._entries is None:
            self._entries, self._dirty = {}, False
            if self.path is not None:
                self._read()
        return self._entries

    def _read(self) -> None:
        assert self.path is not None
        try:
            raw = read_regular_file(self.path, MAX_FILE_BYTES)
        except UnusableFile as exc:
            self._usable = False
            self.warn(
                f"the parse cache {self.path} {exc}; running without it "
                f"(remove it to re-enable the cache: rm -r {shlex.quote(str(self.path))})"
            )
            return
        if raw is None:
            return
        entries, problem = parse_document(raw, self.namespace)
        self._dirty = entries is None  # not ours: replaced on the next save
        self._entries = entries or {}
        if problem:
            self.warn(f"the parse cache {self.path} {problem}; it is rebuilt")


class UnusableFile(Exception):
    """The path holds something that must not be read as a cache file."""


def read_regular_file(path: Path, limit: int) -> bytes | None:
    """The bytes of ``path`` when it is a regular file of at most ``limit``
    bytes; None when it does not exist.  Never follows a final symbolic
    link, never blocks on a FIFO, never reads more than ``limit + 1`` bytes
    (a file may grow while it is read).  Raises UnusableFile otherwise."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnusableFile("is a symbolic link, not a regular file") from exc
        raise UnusableFile(f"cannot be opened ({exc.strerror})") from exc
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise UnusableFile(f"is {_kind(status.st_mode)}, not a regular file")
        if status.st_size > limit:
            raise UnusableFile(f"is larger than {limit // (1024 * 1024)} MiB")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnusableFile(f"cannot be read ({exc.strerror})") from exc
    finally:
        os.close(fd)
    if size > limit:
        raise UnusableFile(f"is larger than {limit // (1024 * 1024)} MiB")
    return b"".join(chunks)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def _digest(body: bytes) -> str:
    return blake2b(body, digest_size=16).hexdigest()


def document_text(namespace: str, entries: dict[str, object]) -> str:
    """The file's text: a header line (with the digest of the rest), then the entries."""
    body = json.dumps(entries, separators=(",", ":"))
    header = {"format": FORMAT, "namespace": namespace, "digest": _digest(body.encode())}
    return json.dumps(header, separators=(",", ":")) + "\n" + body


def parse_document(raw: bytes, namespace: str) -> tuple[dict[str, object] | None, str | None]:
    """(entries, None) for a cache of ours; (None, why) for a damaged file;
    (None, None) for a file of another format or namespace (an upgrade)."""
    first, newline, body = raw.partition(b"\n")
    try:
        header = json.loads(first)
    except (ValueError, RecursionError):
        return None, "is damaged (its header is not JSON)"
    if not isinstance(header, dict):
        return None, "is damaged (its header is not an object)"
    if header.get("format") != FORMAT or header.get("namespace") != namespace:
        return None, None
    if not newline or header.get("digest") != _digest(body):
        return None, "is damaged (its digest does not match its entries)"
    try:
        entries = json.loads(body)
    except (ValueError, RecursionError):
        return None, "is damaged (its entries are not JSON)"
    if not isinstance(entries, dict):
        return None, "is damaged (its entries are not an object)"
    return entries, None


STALE_TEMP_SECONDS = 3600


def _remove_stale_temps(path: Path) -> None:
    """Remove temp files of ``path`` that a killed run left behind (older than
    an hour: a live writer renames its own within a second)."""
    cutoff = time.time() - STALE_TEMP_SECONDS
    prefix = path.name + "."
    with os.scandir(path.parent) as found:
        for entry in found:
            if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
                continue
            try:
                if (
                    entry.is_file(follow_symlinks=False)
                    and entry.stat(follow_symlinks=False).st_mtime < cutoff
                ):
                    os.unlink(entry.path)
            except OSError:
                continue  # another run removed it, or it is not ours to remove


def write_atomically(path: Path, text: str) -> bool:
    """True when ``text`` replaced ``path`` whole (temp file + rename); False on failure."""
    import tempfile  # only a run that writes the cache pays for it

    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_temps(path)
        fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp_name, path)
        return True
    except OSError:
        if tmp_name is not None:
            try:
                os.unlink(tmp_name)
            except OSError:
                pass
        return False
