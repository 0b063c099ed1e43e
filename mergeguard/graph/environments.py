"""Reading environments: snapshot -> files -> facts (cached) -> scripts -> graph.

Everything here works on a ``Snapshot`` (``mergeguard.git.snapshot``) it is
given and returns values; it prints nothing and touches no repository object.
Each blob is parsed once per run and once ever while the cache lives: refs
share almost all of their migration files.  What the cache holds, and how a
cached value is checked, is ``mergeguard.graph.cache_values``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from contextlib import closing
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, cast

from mergeguard.git.snapshot import Snapshot, entries_of
from mergeguard.graph.building import build
from mergeguard.graph.cache import ParseCache
from mergeguard.graph.cache_records import RecordStore
from mergeguard.graph.cache_values import (
    FACTS_KIND,
    OPS_KIND,
    ROW_KIND,
    EnvironmentRecord,
    bounded_json,
    file_operations_from_json,
    file_operations_to_json,
    record_from_json,
    record_to_json,
)
from mergeguard.graph.listings import entry as _entry
from mergeguard.graph.listings import path_of, record_key, version_positions
from mergeguard.graph.revisions import RevisionGraph
from mergeguard.model import (
    Config,
    Diagnostic,
    Environment,
    FileEntry,
    FileOperations,
    MigrationScript,
    replace,
)
from mergeguard.parse import READER_VERSION
from mergeguard.parse.script_rows import (
    Columns,
    script_from_row,
    script_to_row,
    scripts_to_columns,
)

if TYPE_CHECKING:  # the reader itself only where a file is read: a warm run reads none
    from mergeguard.parse.header import ScriptRead
    from mergeguard.parse.reading import ScriptOrFacts
    from mergeguard.parse.values import Expr, ModuleFacts, Ref

_MAX_IMPORT_DEPTH = 5

# the interpreter too: which files ``ast`` can parse depends on it, and two
# interpreters (a pre-commit venv, a shell) may share one repository's cache
CACHE_NAMESPACE = f"facts-{READER_VERSION}-py{sys.version_info[0]}.{sys.version_info[1]}"


class EnvironmentRead:
    """One environment read at one snapshot: its scripts, graph and problems.

    The graph is built on first use: a check reads four snapshots but often
    needs the graphs of fewer (the merge base is compared by scripts only).
    """

    def __init__(
        self,
        environment: Environment,
        origin: str,
        scripts: tuple[MigrationScript, ...],
        read_problems: tuple[Diagnostic, ...],
    ) -> None:
        self.environment = environment
        self.origin = origin
        self.scripts = scripts
        self._read_problems = read_problems
        self._built: tuple[RevisionGraph, tuple[Diagnostic, ...]] | None = None

    def _build(self) -> tuple[RevisionGraph, tuple[Diagnostic, ...]]:
        if self._built is None:
            self._built = build(self.scripts, self.environment.name)
        return self._built

    @property
    def graph(self) -> RevisionGraph:
        return self._build()[0]

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        """Problems reading the files, then the graph's integrity problems."""
        return self._read_problems + self._build()[1]

    @property
    def revisions(self) -> dict[str, MigrationScript]:
        """Revision id -> script, as Alembic's map keeps it (the later file wins)."""
        return {script.revision: script for script in self.scripts}


class Reader:
    """Reads environments from snapshots, sharing one parse cache.

    ``constants`` are ``[tool.mergeguard.constants]``: values for imported
    names that cannot be read from the repository.  Scripts are memoized by
    (path, blob), so the refs of one run share them as they share blobs.

    An environment whose listing (the (path, blob) entries of its version
    locations) was read before comes whole from one cache record
    (``EnvironmentRecord``), keyed by a digest of that listing and of what
    else changes the result: the reader version, the locations, the
    recursive flag and the constants.  Only environments whose scripts
    depend on their own bytes are recorded: a header importing a name from
    another module depends on that module too (and on where it is found).
    """

    # a plain class: a dataclass would import dataclasses on every check's path
    def __init__(
        self,
        cache: ParseCache,
        records: RecordStore | None = None,
        operations_cache: ParseCache | None = None,
        constants: Mapping[str, str | None] | None = None,
        files_parsed: int = 0,
        files_read: int = 0,
        records_used: int = 0,
    ) -> None:
        self.cache = cache
        self.records = RecordStore(None, CACHE_NAMESPACE) if records is None else records
        # the operations' own file (else ``cache``): a check reads the operations of
        # the few revisions it compares, and the cache file holds every blob's row
        self.operations_cache = operations_cache
        self.constants: Mapping[str, str | None] = {} if constants is None else constants
        self.files_parsed = files_parsed
        self.files_read = files_read
        self.records_used = records_used
        self._scripts: dict[tuple[str, str], MigrationScript] = {}
        # by record key, what a listing read gave: the snapshots of a check
        # share most environments' listings (a monorepo's twenty, four times)
        self._listings_read: dict[
            str, tuple[tuple[MigrationScript, ...], tuple[Diagnostic, ...]]
        ] = {}

    def read(self, snapshot: Snapshot, config: Config) -> tuple[EnvironmentRead, ...]:
        """Every configured environment of ``snapshot``, in configuration order
        (imported names resolved with that snapshot's own ``constants``)."""
        self.constants = dict(config.settings.constants)
        return tuple(self.read_environment(snapshot, env) for env in config.environments)

    def read_environment(self, snapshot: Snapshot, environment: Environment) -> EnvironmentRead:
        listings = [entries_of(snapshot, loc) for loc in environment.version_locations]
        listed: Sequence[tuple[str, str]] = (
            listings[0]  # one version location, the usual case: its listing as it is
            if len(listings) == 1
            else [entry for listing in listings for entry in listing]
        )
        key = record_key(CACHE_NAMESPACE, environment, self.constants, listings)
        found = self._listings_read.get(key)
        if found is None:
            found = self.recorded(key, listed)
            if found is not None:
                self._listings_read[key] = found
        if found is None:
            positions = version_positions(environment, listings)
            found = self.read_listed(snapshot, listed, positions, key)  # kept when it may be
        else:
            self.records_used += 1
        scripts, problems = found
        named = tuple(replace(d, environment=environment.name) for d in problems)
        return EnvironmentRead(environment, snapshot.origin, scripts, named)

    def recorded(
        self, key: str, listed: Sequence[tuple[str, str]]
    ) -> tuple[tuple[MigrationScript, ...], tuple[Diagnostic, ...]] | None:
        """The scripts and problems of the record ``key``, or None when there
        is none or it cannot be trusted (then the environment is read)."""
        data = self.records.get(key)
        if data is None:
            return None
        try:
            record = record_from_json(data, len(listed))
        except (ValueError, TypeError):
            return None  # a damaged record is rebuilt, never trusted
        rows = record.rows
        positions = record.positions
        plain = (
            [listed[p] for p in positions if p not in rows]
            if rows
            else [*map(listed.__getitem__, positions)]
        )
        # the run's own scripts first: the sides of a check share almost all
        known: list[MigrationScript | None] = [*map(self._scripts.get, plain)]
        if None in known:
            try:
                columns = Columns(record.columns, len(plain))
            except (ValueError, TypeError):
                return None  # damaged rows: read the environment again
            columned = columns.fill(known, plain, self._scripts, path_of)
        else:  # every one known: the columns are not read
            columned = cast(list[MigrationScript], known)
        if not rows:  # the common record: every script from the columns
            self.files_read += record.files
            return tuple(columned), record.problems
        rest = iter(columned)
        scripts: list[MigrationScript] = []
        for pos in positions:
            script = _from_row(rows[pos], *listed[pos]) if pos in rows else next(rest)
            if script is None:
                return None  # a damaged row: read the environment again
            scripts.append(script)
        self.files_read += record.files
        return tuple(scripts), record.problems

    def read_listed(
        self,
        snapshot: Snapshot,
        listed: Sequence[tuple[str, str]],
        positions: Sequence[int],
        key: str,
    ) -> tuple[tuple[MigrationScript, ...], tuple[Diagnostic, ...]]:
        """Read the version files at ``positions`` of ``listed``; record the
        result when it depends on the listing alone."""
        from mergeguard.parse.header import is_self_contained

        known = [self.known_script(listed[pos]) for pos in positions]
        unknown = [_entry(*listed[p]) for p, s in zip(positions, known, strict=True) if s is None]
        facts = self.facts_for(snapshot, unknown)
        scripts: list[MigrationScript] = []
        recorded: list[int] | None = []
        rows: dict[int, object] = {}
        columned: list[MigrationScript] = []  # the record's scripts without a row of their own
        problems: list[Diagnostic] = []
        for pos, script in zip(positions, known, strict=True):
            if script is None:
                script = self._scripts.get(listed[pos])  # facts_for read it whole
            if script is None:
                entry = _entry(*listed[pos])
                result = self.script_of(snapshot, entry, facts[entry.blob])
                problems.extend(result.diagnostics)
                script = result.script
                if not is_self_contained(facts[entry.blob]):
                    recorded = None
                elif script is not None and result.diagnostics:
                    rows[pos] = script_to_row(script)
            if script is not None:
                scripts.append(script)
                if recorded is not None:
                    recorded.append(pos)
                    if pos not in rows:
                        columned.append(script)
        self.files_read += len(positions)
        found = (tuple(scripts), tuple(problems))
        if recorded is not None:
            columns = scripts_to_columns(columned)
            record = EnvironmentRecord(
                len(positions), tuple(recorded), rows, tuple(problems), columns
            )
            value = record_to_json(record)
            if bounded_json(value | {"columns": None}):  # columns: flat lists of read values
                self.records.put(key, value)
            # what depends on the listing alone, another snapshot listing the same shares
            self._listings_read[key] = found
        return found

    def known_script(self, entry: tuple[str, str]) -> MigrationScript | None:
        """The script of a listed (path, blob) from this run or from a cached row
        (memoized under the listing's own pair: no key made per script)."""
        return self._scripts.get(entry) or self.row_script(entry)

    def row_script(self, entry: tuple[str, str]) -> MigrationScript | None:
        """The script of a listed (path, blob) from its cached row, memoized."""
        path, blob = entry
        script = _from_row(self.cache.get(ROW_KIND, blob), path, blob)
        if script is not None:
            self._scripts[entry] = script
        return script

    def script_of(self, snapshot: Snapshot, entry: FileEntry, facts: ModuleFacts) -> ScriptRead:
        """Read one script from its facts; cache it as a row when that is safe."""
        from mergeguard.parse.header import ScriptRead, is_self_contained, read_script
        from mergeguard.parse.values import facts_to_json

        script = self._scripts.get((str(entry.path), entry.blob))
        if script is not None:  # read with its facts, by facts_for (its row is cached)
            return ScriptRead(script, ())
        resolver = _RefResolver(self, snapshot, entry.path)
        result = read_script(facts, entry.path, entry.blob, resolver)
        if result.script is not None and not result.diagnostics and is_self_contained(facts):
            self.cache.put(ROW_KIND, entry.blob, script_to_row(result.script))
            self._scripts[(str(entry.path), entry.blob)] = result.script
        else:
            self.cache.put(FACTS_KIND, entry.blob, facts_to_json(facts))
        return result

    def facts_for(self, snapshot: Snapshot, entries: Sequence[FileEntry]) -> dict[str, ModuleFacts]:
        """Facts of the entries' blobs, cached ones and the rest read in one
        batch (parsed in parallel when many) -- except a blob whose script
        depends on its bytes alone and reads without problems: its script is
        kept instead (``_scripts``, for each of its paths), its facts not."""
        from mergeguard.parse.reading import read_scripts

        found: dict[str, ModuleFacts] = {}
        missing: dict[str, list[FileEntry]] = {}
        for entry in entries:
            if entry.blob in found:
                continue
            if entry.blob in missing:
                missing[entry.blob].append(entry)
                continue
            cached = self.cached_facts(entry.blob)
            if cached is None:
                missing[entry.blob] = [entry]
            else:
                found[entry.blob] = cached
        wanted = [paths[0] for paths in missing.values()]

        def load(start: int, stop: int) -> list[bytes]:
            return [source.text for source in snapshot.read_many(wanted[start:stop])]

        with closing(read_scripts(len(wanted), load)) as reads:  # children stopped on an error
            self._take_scripts(missing, found, zip(wanted, reads, strict=True))
        self.files_parsed += len(wanted)
        return found

    def _take_scripts(
        self,
        missing: Mapping[str, Sequence[FileEntry]],
        found: dict[str, ModuleFacts],
        reads: Iterable[tuple[FileEntry, ScriptOrFacts]],
    ) -> None:
        """Keep what ``read_scripts`` gave: facts in ``found``, scripts (a
        row, for each path of its blob) in ``_scripts`` and the cache."""
        for entry, (facts, row) in reads:
            if row is None:
                assert facts is not None  # read_scripts gives one of the two
                found[entry.blob] = facts
                continue
            self.cache.put(ROW_KIND, entry.blob, row)  # read where the file was parsed
            for same in missing[entry.blob]:
                self._scripts[(str(same.path), entry.blob)] = script_from_row(
                    row, same.path, entry.blob
                )

    def cached_facts(self, blob: str) -> ModuleFacts | None:
        from mergeguard.parse.values import facts_from_json

        data = self.cache.get(FACTS_KIND, blob)
        if data is None or not bounded_json(data):
            return None
        try:
            return facts_from_json(data)
        except (ValueError, TypeError, KeyError, RecursionError):
            return None  # a damaged entry is re-read, never trusted

    def operations(
        self, snapshot: Snapshot, scripts: Sequence[MigrationScript]
    ) -> dict[str, FileOperations]:
        """blob -> what each script's file does (its operations, read with
        ``ast``, and its upgrade digest), for the few files a check compares;
        cached by blob id."""
        found: dict[str, FileOperations] = {}
        missing: dict[str, FileEntry] = {}
        store = self.cache if self.operations_cache is None else self.operations_cache
        for script in scripts:
            cached = store.get(OPS_KIND, script.blob)
            try:
                found[script.blob] = file_operations_from_json(cached)
                continue
            except (ValueError, TypeError):
                missing[script.blob] = FileEntry(script.path, script.blob)
        if missing:
            from mergeguard.parse.digest import upgrade_digest
            from mergeguard.parse.operations import read_operations

            for source in snapshot.read_many(list(missing.values())):
                read = FileOperations(read_operations(source.text), upgrade_digest(source.text))
                found[source.blob] = read
                store.put(OPS_KIND, source.blob, file_operations_to_json(read))
        return found

    def module_facts(self, snapshot: Snapshot, path: PurePosixPath) -> ModuleFacts | None:
        """Facts of a module that migrations import constants from."""
        from mergeguard.parse.reading import read_module
        from mergeguard.parse.values import facts_to_json

        entries = [e for e in snapshot.files(path.parent) if e.path == path]
        if not entries:
            return None
        blob = entries[0].blob
        facts = self.cached_facts(blob)
        if facts is None:
            facts = read_module(snapshot.read_many(entries[:1])[0].text)
            self.files_parsed += 1
        self.cache.put(FACTS_KIND, blob, facts_to_json(facts))
        return facts


def _from_row(row: object, path: str, blob: str) -> MigrationScript | None:
    """The script of a cached row, or None when there is none or it is damaged."""
    if row is None:
        return None
    try:
        return script_from_row(row, path_of(path), blob, bounded=True)
    except (ValueError, TypeError):
        return None  # a damaged or implausible row is re-read, never trusted


class _RefResolver:
    """Resolves an imported name by reading the module it comes from (same
    snapshot, statically), then ``[tool.mergeguard.constants]``."""

    def __init__(self, reader: Reader, snapshot: Snapshot, importer: PurePosixPath, depth: int = 0):
        self.reader = reader
        self.snapshot = snapshot
        self.importer = importer
        self.depth = depth

    def __call__(self, ref: Ref) -> Expr:
        from mergeguard.parse.values import Dyn, Lit

        value = self.from_repository(ref)
        if not isinstance(value, Dyn):
            return value
        for key in (ref.spelled, ref.target.lstrip("."), ref.target.rsplit(".", 1)[-1]):
            if key in self.reader.constants:
                return Lit(self.reader.constants[key])
        return value

    def from_repository(self, ref: Ref) -> Expr:
        from mergeguard.parse.values import Dyn, substitute

        module, _, name = ref.target.rpartition(".")
        unresolved = Dyn(
            f"the name {ref.spelled}, imported from {module or 'a module'}, "
            "which mergeguard could not read"
        )
        if self.depth >= _MAX_IMPORT_DEPTH:
            return unresolved
        path = self.module_path(module)
        facts = self.reader.module_facts(self.snapshot, path) if path else None
        binding = facts.binding(name) if facts and facts.error is None else None
        if binding is None or path is None:
            return unresolved
        deeper = _RefResolver(self.reader, self.snapshot, path, self.depth + 1)
        return substitute(binding.value, deeper)

    def module_path(self, module: str) -> PurePosixPath | None:
        """The file of ``module`` (dotted, maybe relative) in the snapshot."""
        level = len(module) - len(module.lstrip("."))
        parts = [p for p in module.lstrip(".").split(".") if p]
        if level:
            base = self.importer.parent
            for _ in range(level - 1):
                base = base.parent
            return (
                self.existing(base.joinpath(*parts))
                if parts
                else self.existing_file(base / "__init__.py")
            )
        return self.by_suffix(parts) if parts else None

    def existing(self, stem: PurePosixPath) -> PurePosixPath | None:
        return self.existing_file(stem.with_name(stem.name + ".py")) or self.existing_file(
            stem / "__init__.py"
        )

    def existing_file(self, path: PurePosixPath) -> PurePosixPath | None:
        return path if self.snapshot.read(path) is not None else None

    def by_suffix(self, parts: list[str]) -> PurePosixPath | None:
        """``a.b.c`` -> the shortest path ending in a/b/c.py or a/b/c/__init__.py."""
        wanted = (tuple(parts[:-1]) + (parts[-1] + ".py",), tuple(parts) + ("__init__.py",))
        candidates = [
            path
            for basename in (parts[-1] + ".py", "__init__.py")
            for path in self.snapshot.find(basename)
            if any(path.parts[-len(w) :] == w for w in wanted)
        ]
        return min(candidates, key=lambda p: (len(p.parts), str(p))) if candidates else None


def all_diagnostics(reads: Iterable[EnvironmentRead]) -> tuple[Diagnostic, ...]:
    return tuple(d for r in reads for d in r.diagnostics)
