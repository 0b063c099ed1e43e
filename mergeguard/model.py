"""Frozen value types shared by every mergeguard module.

This module imports nothing from mergeguard (the Fixit ``ftypes`` model): the
core passes these values around, and only the edges (git, files, terminal)
turn them into I/O.  Collections are tuples so every value is hashable and
immutable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One file as read from a snapshot (a git tree, the index or the work tree).

    ``blob`` is the git blob id of ``text`` (content addressed, so two refs that
    share a file share its parse).  ``origin`` names the snapshot, e.g.
    ``"refs/heads/main@3f2c1a0"``, ``"index"`` or ``"worktree"``.
    """

    path: PurePosixPath
    blob: str
    text: bytes
    origin: str


@dataclass(frozen=True, slots=True)
class FileEntry:
    """A file listed in a snapshot, before its bytes are read."""

    path: PurePosixPath
    blob: str


@dataclass(frozen=True, slots=True)
class Span:
    """A 1-based line and column in a source file."""

    line: int
    column: int = 1


@dataclass(frozen=True, slots=True)
class Location:
    """Where a diagnostic points: a repository-relative path and a span."""

    path: PurePosixPath
    line: int = 1
    column: int = 1


@dataclass(frozen=True, slots=True)
class Spans:
    """Where each header variable of a migration was assigned."""

    revision: Span | None = None
    down_revision: Span | None = None
    branch_labels: Span | None = None
    depends_on: Span | None = None
    docstring: Span | None = None
    doc_revision_id: Span | None = None
    doc_revises: Span | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One schema change of ``upgrade()`` / ``downgrade()``.

    ``kind`` is the ``op`` method (``add_column``, ``create_index`` ...), or
    ``create_enum`` for a named enum type, or ``opaque``.  ``name`` is the
    object the operation is about (column, index, constraint, new table name),
    ``columns`` the columns it covers, ``detail`` sorted (key, value) pairs
    (``type``, ``nullable``, ``new_column_name``, ``referent`` ...).
    ``opaque`` marks a call mergeguard cannot read statically (non-literal
    arguments, a helper call, a loop or a conditional): recorded with
    ``reason``, never guessed.
    """

    kind: str
    table: str | None
    name: str | None
    schema: str | None
    span: Span
    opaque: bool = False
    columns: tuple[str, ...] = ()
    detail: tuple[tuple[str, str], ...] = ()
    reason: str = ""
    function: str = "upgrade"

    def get(self, key: str) -> str | None:
        """The value of one ``detail`` entry (None when absent)."""
        return next((value for k, value in self.detail if k == key), None)


@dataclass(frozen=True, slots=True)
class FileOperations:
    """What one migration file does to the schema, read statically.

    ``upgrade_digest`` fingerprints the code of its ``upgrade*()`` functions
    with docstrings, comments and layout normalised away (``""`` when the file
    does not parse or has no upgrade function): two files with the same digest
    run the same upgrade.
    """

    operations: tuple[Operation, ...] = ()
    upgrade_digest: str = ""


@dataclass(frozen=True, slots=True)
class MigrationScript:
    """The header facts of one migration file, read statically.

    ``down_revisions`` is Alembic's ``down_revision`` as a tuple (empty for a
    base).  ``complete`` is False when a header value could not be read
    statically (an MG002 diagnostic says which); the graph still places the
    revision so that its children are not reported as orphans.
    """

    path: PurePosixPath
    revision: str
    down_revisions: tuple[str, ...]
    branch_labels: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    message: str = ""
    spans: Spans = field(default_factory=Spans)
    doc_revision_id: str | None = None
    doc_revises: tuple[str, ...] | None = None
    ignores: tuple[str, ...] = ()
    complete: bool = True
    blob: str = ""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A problem found in the migrations (not a failure to run).

    ``code`` and ``name`` come from the rule catalogue (MG001 ...), ``hint``
    names the command or edit that fixes it.  ``related`` are the other places
    the finding is about (the other side's revision of a schema conflict).
    """

    code: str
    name: str
    severity: Severity
    message: str
    location: Location | None = None
    hint: str | None = None
    revisions: tuple[str, ...] = ()
    environment: str = ""
    related: tuple[Location, ...] = ()


@dataclass(frozen=True, slots=True)
class FilePatch:
    """A change to write, as bytes (files keep their encoding and line
    endings): ``before`` is None for a new file, else the bytes the change was
    computed from (re-checked before writing).  ``within`` is the directory
    the written file must resolve into, symbolic links followed (the version
    location for a new file; the repository root, ``.``, by default)."""

    path: PurePosixPath
    before: bytes | None
    after: bytes
    within: PurePosixPath = PurePosixPath(".")


@dataclass(frozen=True, slots=True)
class Environment:
    """One Alembic environment as configured at one snapshot.

    ``version_locations`` are repository-relative directories in Alembic's
    load order.  ``config_path`` is the ini (or pyproject) that defined it,
    ``None`` when ``--versions`` bypassed discovery.
    """

    name: str
    version_locations: tuple[PurePosixPath, ...]
    script_location: PurePosixPath | None = None
    config_path: PurePosixPath | None = None
    section: str = "alembic"
    recursive: bool = False
    file_template: str | None = None
    truncate_slug_length: int | None = None
    timezone: str | None = None
    output_encoding: str = "utf-8"


@dataclass(frozen=True, slots=True)
class ToolSettings:
    """``[tool.mergeguard]`` from pyproject.toml (all optional).

    ``versions`` (repository-relative directories) and ``recursive_versions``
    stand in for a ``version_locations`` / ``recursive_version_locations``
    that the project computes in Python, where no ini says it.
    """

    base: str | None = None
    environments: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    constants: tuple[tuple[str, str | None], ...] = ()
    published: tuple[str, ...] = ()  # ref globs whose revisions count as deployed
    versions: tuple[PurePosixPath, ...] = ()
    recursive_versions: bool = False
    databases: tuple[DatabaseSetting, ...] = ()  # [tool.mergeguard.databases], in file order


@dataclass(frozen=True, slots=True)
class DatabaseSetting:
    """One deployed database of ``[tool.mergeguard.databases]`` (or ``--url``), as written.

    ``url`` is a database URL or ``"env:VARIABLE"`` (resolved at the edge, when
    read, so that no secret is committed).  ``environment`` None: the only
    environment.  ``version_table`` / ``version_table_schema`` None: what the
    environment's env.py passes to ``context.configure`` as a literal, else
    Alembic's defaults (``alembic_version``, the connection's default schema).
    """

    name: str
    url: str
    environment: str | None = None
    version_table: str | None = None
    version_table_schema: str | None = None


DatabaseState = Literal["up-to-date", "behind", "stranded", "empty", "unreachable"]


@dataclass(frozen=True, slots=True)
class DatabaseReading:
    """What one deployed database's version table said, read only.

    ``url`` is masked (no password).  ``current`` is the version table's rows
    (sorted), None when there is no version table; ``error`` (masked) when the
    database could not be read at all (then ``current`` is None).  ``refs``
    maps a current revision that the read environment's graph lacks to the
    branches (e.g. ``origin/feature-x``) whose history has it, found
    statically by the edge that read the database.
    """

    name: str
    url: str
    environment: str
    version_table: str = "alembic_version"
    version_table_schema: str | None = None
    current: tuple[str, ...] | None = None
    error: str | None = None
    refs: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (revision, refs holding it)
    # what else the reader saw: a SQLite file that does not exist yet (Alembic
    # would create it: nothing applied, so ``current`` is None)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class DatabaseStatus:
    """One database judged against a target graph (``mergeguard status``).

    ``pending`` is what ``alembic upgrade heads`` would run, in Alembic's order;
    ``refs`` the branches holding a stranded revision.
    """

    reading: DatabaseReading
    state: DatabaseState
    pending: tuple[str, ...] = ()
    stranded: tuple[str, ...] = ()  # current revisions the target graph lacks
    refs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Config:
    """Every environment found in one snapshot, plus mergeguard's settings."""

    environments: tuple[Environment, ...]
    settings: ToolSettings = field(default_factory=ToolSettings)


AddedBy = Literal["ours", "theirs", "both"]


@dataclass(frozen=True, slots=True)
class RangeMarks:
    """What ``graph A..B`` marks on the graph their merge would leave: the
    revisions each side added since the merge base (``both`` when the two
    sides added the same id), per environment, and the sides as named."""

    theirs: str
    ours: str
    base_sha: str | None = None
    theirs_sha: str | None = None
    ours_sha: str | None = None
    added: tuple[tuple[str, str, AddedBy], ...] = ()  # (environment, revision, side)

    def added_in(self, environment: str) -> dict[str, AddedBy]:
        return {revision: side for env, revision, side in self.added if env == environment}

    def side_name(self, side: AddedBy) -> str:
        if side == "both":
            return f"{self.theirs}, {self.ours}"
        return self.ours if side == "ours" else self.theirs


@dataclass(frozen=True, slots=True)
class Counts:
    """Findings by severity: the one place errors and warnings are counted."""

    errors: int = 0
    warnings: int = 0

    @classmethod
    def of(cls, diagnostics: Iterable[Diagnostic]) -> Counts:
        found = [d.severity for d in diagnostics]
        errors = found.count("error")
        return cls(errors, len(found) - errors)


@dataclass(frozen=True, slots=True)
class SideSummary:
    """One side of a check as the reports name it: its role, label and commit."""

    role: str
    label: str
    sha: str | None = None


@dataclass(frozen=True, slots=True)
class ScenarioSummary:
    """What a check compared: ``kind`` (range, merge, tree), the merge base and
    the two sides, whether there is a base, and the files both sides changed
    differently (the merge takes ours)."""

    kind: str
    base: SideSummary
    theirs: SideSummary
    ours: SideSummary
    has_base: bool = True
    conflicts: tuple[PurePosixPath, ...] = ()


@dataclass(frozen=True, slots=True)
class EnvironmentSummary:
    """One environment of the checked tree: where it was read, the migration
    files read, and the heads of its graph."""

    name: str
    origin: str
    files: tuple[PurePosixPath, ...] = ()
    heads: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RangeChart:
    """What the picture of one environment's range needs (Markdown's flowchart):
    the fork points, the revisions each side added since the merge base (in
    that side's graph order) and the heads the merge would leave."""

    environment: str
    forks: tuple[str, ...]
    theirs: tuple[MigrationScript, ...]
    ours: tuple[MigrationScript, ...]
    merged_heads: tuple[str, ...] = ()


SchemaChanges = tuple[tuple[str, tuple[tuple[str, tuple[str, ...]], ...]], ...]


def schema_changes_of(changes: Mapping[str, Mapping[str, Iterable[str]]]) -> SchemaChanges:
    """Environment -> side label -> changes, as nested tuples (a frozen value)."""
    return tuple(
        (env, tuple((label, tuple(items)) for label, items in sides.items()))
        for env, sides in changes.items()
    )


@dataclass(frozen=True, slots=True)
class StatusReport:
    """``mergeguard status``: each deployed database judged against the target
    tree (``target`` names it: ``worktree``, ``main@3f2c1a0``), and the
    findings about them (MG4xx)."""

    target: str
    databases: tuple[DatabaseStatus, ...]
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def counts(self) -> Counts:
        return Counts.of(self.diagnostics)

    @property
    def failed(self) -> bool:
        """True when a finding is an error or a database is stranded (exit 1)."""
        stranded = any(status.state == "stranded" for status in self.databases)
        return stranded or self.counts.errors > 0


@dataclass(frozen=True, slots=True)
class Report:
    """The result of one check, everything a format prints: the findings, the
    scenario compared, the environments read, and (when the format asked for
    them) what each side does to the schema and the range's pictures, and
    where each configured deployed database stands."""

    diagnostics: tuple[Diagnostic, ...]
    scenario: ScenarioSummary
    environments: tuple[EnvironmentSummary, ...] = ()
    schema_changes: SchemaChanges = ()
    charts: tuple[RangeChart, ...] = ()
    # the deployed databases read, judged against the history to be deployed
    databases: tuple[DatabaseStatus, ...] = ()

    @property
    def counts(self) -> Counts:
        return Counts.of(self.diagnostics)

    @property
    def failed(self) -> bool:
        """True when a finding is at error severity (the command exits 1)."""
        return self.counts.errors > 0

    def changes(self) -> dict[str, dict[str, list[str]]]:
        """``schema_changes`` as mappings (environment -> side label -> changes)."""
        return {
            env: {label: list(items) for label, items in sides}
            for env, sides in self.schema_changes
        }
