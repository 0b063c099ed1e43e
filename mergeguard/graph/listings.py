"""An environment's version files from its listings, and the key of its record.

A listing is the (path key, blob id) strings of one version location
(``mergeguard.git.snapshot.entries_of``): choosing Alembic's files, ordering
them and digesting the listing work on those strings, so a warm read builds
no path object for a file it does not read.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from pathlib import PurePosixPath

from mergeguard.git.snapshot import Entries, Snapshot, entries_of
from mergeguard.graph.cache import blake2b
from mergeguard.model import Environment, FileEntry

# Alembic's ``_only_source_rev_file``: ``.py`` files, not ``__init__`` or ``.#`` locks.
_REVISION_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_ROOT = PurePosixPath(".")


def version_files(snapshot: Snapshot, environment: Environment) -> tuple[FileEntry, ...]:
    """The files Alembic would load, in its order (see ``version_positions``)."""
    listings = [entries_of(snapshot, loc) for loc in environment.version_locations]
    listed = [e for listing in listings for e in listing]
    return tuple(entry(*listed[pos]) for pos in version_positions(environment, listings))


def version_positions(environment: Environment, listings: Sequence[Entries]) -> list[int]:
    """Positions in the concatenated ``listings`` (the entries of each version
    location in turn) of the files Alembic would load, in its order: version
    locations as configured; in each, files sorted, then (when recursive)
    sub-directories sorted, depth first; ``__pycache__`` and non-revision
    names skipped."""
    seen: set[str] = set()
    result: list[int] = []
    start = 0
    for location, listing in zip(environment.version_locations, listings, strict=True):
        prefix = "" if location == _ROOT else str(location) + "/"
        keyed: list[tuple[tuple[tuple[int, str], ...], int]] = []
        for offset, (key, _) in enumerate(listing):
            pos = start + offset
            relative = key[len(prefix) :].split("/")
            if (
                (len(relative) > 1 and not environment.recursive)
                or "__pycache__" in relative
                or _REVISION_FILE.match(relative[-1]) is None
                or key in seen
            ):
                continue
            keyed.append((_walk_key(relative) if environment.recursive else (), pos))
        if environment.recursive:  # a flat listing is in walk order already
            keyed.sort(key=lambda pair: pair[0])
        seen.update(listing[pos - start][0] for _, pos in keyed)
        result.extend(pos for _, pos in keyed)
        start += len(listing)
    return result


def record_key(
    namespace: str,
    environment: Environment,
    constants: Mapping[str, str | None],
    listings: Sequence[Entries],
) -> str:
    """The digest naming an environment's record: the listing of each version
    location (paths and blob ids) and everything else that changes the read."""
    settings = [
        namespace,
        [str(location) for location in environment.version_locations],
        environment.recursive,
        sorted(constants.items()),
    ]
    digest = blake2b(json.dumps(settings).encode(), digest_size=20)
    for listing in listings:
        digest.update(b"\1%d\1" % len(listing))
        digest.update("\0".join(chain.from_iterable(listing)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


_PATHS: dict[str, PurePosixPath] = {}


def path_of(key: str) -> PurePosixPath:
    """The path of a listed key, built once per run (snapshots share their paths)."""
    found = _PATHS.get(key)
    if found is None:
        found = _PATHS[key] = _make_path(key)
    return found


def _parsed_parts_maker() -> Callable[[str], PurePosixPath] | None:
    """Python 3.10 and 3.11 parse every part of a new path again (``parse_parts``:
    on 3.11 ~19,000 instructions a path, ~6,000 given its parts); a listed key is already
    in the form that parse gives (relative, "/"-separated, no empty or "."
    part), so its parts can be given as they are.  That goes through
    ``_from_parsed_parts``, private and different from 3.12 on (whose
    constructor parses lazily anyway): used only where it exists with the
    3.10/3.11 signature and builds a path equal to the parsed one."""
    make = getattr(PurePosixPath, "_from_parsed_parts", None)
    if sys.version_info >= (3, 12) or make is None:
        return None

    def parsed(key: str) -> PurePosixPath:
        parts = key.split("/")
        if "" in parts or "." in parts:  # absolute, "//" or "." parts: pathlib normalizes
            return PurePosixPath(key)
        built: PurePosixPath = make("", "", parts)
        return built

    try:
        probe = parsed("a/b.py")
    except (TypeError, AttributeError):
        return None
    if probe == PurePosixPath("a/b.py") and probe.parts == ("a", "b.py"):
        return parsed
    return None


_make_path: Callable[[str], PurePosixPath] = _parsed_parts_maker() or PurePosixPath


def entry(path: str, blob: str) -> FileEntry:
    """The FileEntry of a listed path."""
    return FileEntry(path_of(path), blob)


def _walk_key(relative: list[str]) -> tuple[tuple[int, str], ...]:
    """Top-down walk order: a directory's files (sorted) before its sub-directories."""
    return tuple((1, d) for d in relative[:-1]) + ((0, relative[-1]),)
