"""Frozen value types shared by every mergeguard module.

This module imports nothing from mergeguard (the Fixit ``ftypes`` model): the
core passes these values around, and only the edges (git, files, terminal)
turn them into I/O.  Collections are tuples so every value is hashable and
immutable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, Field, FrozenInstanceError, dataclass, field, fields
from operator import attrgetter
from pathlib import PurePosixPath
from reprlib import recursive_repr
from typing import TYPE_CHECKING, Any, Literal, TypeVar

_T = TypeVar("_T")

if TYPE_CHECKING:  # typing has it from 3.11 on; type checkers know it from typing_extensions
    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: object) -> Callable[[_T], _T]:
        return lambda decorated: decorated


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def frozen(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, slots=True)``, made at under half the import cost.

    ``dataclass`` compiles six methods per class from source text (``__init__``,
    ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``):
    ~0.6 ms a class, and a warm check imports fifty classes.  Here ``dataclass``
    makes the fields, ``__match_args__`` and the slots; only ``__init__`` is
    compiled (instances are made by the thousand), and the other methods are
    shared functions over the class's field names, with the behaviour
    ``dataclass`` gives them: ``==`` and ``hash`` on the tuple of the compared
    fields (``==`` for an instance of the same class only), the same ``repr``,
    ``FrozenInstanceError`` on any assignment or deletion, pickling and
    ``copy`` through the same ``__getstate__`` / ``__setstate__``, and
    ``replace()`` and ``fields()`` as before.  Type checkers read it as that
    dataclass (``dataclass_transform``).  What it does not make (a TypeError
    says so): ``__post_init__``, ``InitVar`` / ``ClassVar`` / ``KW_ONLY``
    fields, ``field(init=False)``, a class writing a method it makes."""
    undocumented = not cls.__dict__.get("__doc__")
    if undocumented:  # documented below, once __init__ exists (dataclass would look
        cls.__doc__ = "-"  # for a signature of the class without one: 2 ms)
    for name in _MADE:
        if name in cls.__dict__:
            raise TypeError(f"{cls.__name__}: @frozen makes {name} (use @dataclass to write one)")
    made: Any = dataclass(init=False, repr=False, eq=False, slots=True)(cls)
    every: tuple[Field[Any], ...] = fields(made)
    if len(every) != len(made.__dataclass_fields__) or hasattr(made, "__post_init__"):
        raise TypeError(f"{made.__name__}: @frozen makes plain fields only")
    names = tuple(f.name for f in every)
    compared = _key([f.name for f in every if f.compare])
    hashed = _key([f.name for f in every if (f.compare if f.hash is None else f.hash)])
    methods: dict[str, Callable[..., object]] = {
        "__init__": _init(made, every),
        "__repr__": _repr(tuple(f.name for f in every if f.repr)),
        "__eq__": _eq(compared),
        "__hash__": lambda self: hash(hashed(self)),
        "__setattr__": _refuse_assignment,
        "__delattr__": _refuse_deletion,
        "__getstate__": lambda self: [getattr(self, name) for name in names],
        "__setstate__": _restore(names),
    }
    for name, method in methods.items():
        if name not in ("__setattr__", "__delattr__"):  # those two are shared as they are
            method.__name__ = name
            method.__qualname__ = f"{made.__qualname__}.{name}"
        setattr(made, name, method)
    if undocumented:  # as dataclass documents a class: by its signature
        import inspect

        made.__doc__ = made.__name__ + str(inspect.signature(made)).replace(" -> None", "")
    result: type[_T] = made
    return result


_MADE = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")


class _Factory:
    """The default of a parameter whose field has a ``default_factory``."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _init(cls: type, every: tuple[Field[Any], ...]) -> Callable[..., None]:
    """``__init__`` as ``dataclass`` writes it for a frozen class, compiled once:
    each parameter stored past the refusing ``__setattr__`` (by its slot's own
    setter: a quarter faster than ``object.__setattr__``, and a warm check
    makes some twenty thousand values), a factory called when its parameter
    was not given."""
    me = "__dataclass_self__" if any(f.name == "self" for f in every) else "self"
    params, body = [me], []
    scope: dict[str, object] = {"__frozen_factory": _FACTORY}
    defaulted = False
    for f in every:
        if not f.init or f.kw_only:
            raise TypeError(f"{cls.__name__}.{f.name}: @frozen makes plain fields only")
        value = f.name
        if f.default_factory is not MISSING:
            scope[f"__frozen_make_{f.name}"] = f.default_factory
            params.append(f"{f.name}=__frozen_factory")
            value = f"__frozen_make_{f.name}() if {f.name} is __frozen_factory else {f.name}"
        elif f.default is not MISSING:
            scope[f"__frozen_default_{f.name}"] = f.default
            params.append(f"{f.name}=__frozen_default_{f.name}")
        elif defaulted:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
        else:
            params.append(f.name)
        defaulted = defaulted or "=" in params[-1]
        scope[f"__frozen_set_{f.name}"] = _slot_setter(cls, f.name)
        body.append(f"    __frozen_set_{f.name}({me}, {value})\n")
    source = f"def __init__({', '.join(params)}):\n" + ("".join(body) or "    pass\n")
    exec(source, scope)  # our own text, as dataclass() makes it
    made: Callable[..., None] = scope["__init__"]  # type: ignore[assignment]
    made.__annotations__ = {f.name: f.type for f in every} | {"return": None}
    return made


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    """What stores field ``name`` of a ``cls`` instance: its slot's ``__set__``."""
    for klass in cls.__mro__:
        slot = klass.__dict__.get(name)
        if slot is not None:
            setter: Callable[[object, object], None] = slot.__set__
            return setter
    raise TypeError(f"{cls.__name__}.{name}: no slot")  # dataclass(slots=True) made them


def _key(names: list[str]) -> Callable[[object], tuple[object, ...]]:
    """The tuple of the named attributes: what dataclass compares and hashes."""
    if len(names) > 1:
        many: Callable[[object], tuple[object, ...]] = attrgetter(*names)
        return many
    if names:
        one = attrgetter(names[0])
        return lambda value: (one(value),)
    return lambda value: ()


def _eq(key: Callable[[object], tuple[object, ...]]) -> Callable[[object, object], object]:
    def __eq__(self: object, other: object) -> object:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _repr(shown: tuple[str, ...]) -> Callable[[object], str]:
    @recursive_repr()
    def __repr__(self: object) -> str:
        inside = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{self.__class__.__qualname__}({inside})"

    return __repr__


def _refuse_assignment(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_deletion(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _restore(names: tuple[str, ...]) -> Callable[[object, Iterable[object]], None]:
    def __setstate__(self: object, state: Iterable[object]) -> None:
        for name, value in zip(names, state):  # noqa: B905  # as dataclass restores
            object.__setattr__(self, name, value)

    return __setstate__


Severity = Literal["error", "warning"]


@frozen
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


@frozen
class FileEntry:
    """A file listed in a snapshot, before its bytes are read."""

    path: PurePosixPath
    blob: str


@frozen
class Span:
    """A 1-based line and column in a source file."""

    line: int
    column: int = 1


@frozen
class Location:
    """Where a diagnostic points: a repository-relative path and a span."""

    path: PurePosixPath
    line: int = 1
    column: int = 1


@frozen
class Spans:
    """Where each header variable of a migration was assigned."""

    revision: Span | None = None
    down_revision: Span | None = None
    branch_labels: Span | None = None
    depends_on: Span | None = None
    docstring: Span | None = None
    doc_revision_id: Span | None = None
    doc_revises: Span | None = None


@frozen
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


@frozen
class FileOperations:
    """What one migration file does to the schema, read statically.

    ``upgrade_digest`` fingerprints the code of its ``upgrade*()`` functions
    with docstrings, comments and layout normalised away (``""`` when the file
    does not parse or has no upgrade function): two files with the same digest
    run the same upgrade.
    """

    operations: tuple[Operation, ...] = ()
    upgrade_digest: str = ""


@frozen
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


@frozen
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


@frozen
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


@frozen
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


@frozen
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


@frozen
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


@frozen
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


@frozen
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


@frozen
class Config:
    """Every environment found in one snapshot, plus mergeguard's settings."""

    environments: tuple[Environment, ...]
    settings: ToolSettings = field(default_factory=ToolSettings)


AddedBy = Literal["ours", "theirs", "both"]


@frozen
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


@frozen
class Counts:
    """Findings by severity: the one place errors and warnings are counted."""

    errors: int = 0
    warnings: int = 0

    @classmethod
    def of(cls, diagnostics: Iterable[Diagnostic]) -> Counts:
        found = [d.severity for d in diagnostics]
        errors = found.count("error")
        return cls(errors, len(found) - errors)


@frozen
class SideSummary:
    """One side of a check as the reports name it: its role, label and commit."""

    role: str
    label: str
    sha: str | None = None


@frozen
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


@frozen
class EnvironmentSummary:
    """One environment of the checked tree: where it was read, the migration
    files read, and the heads of its graph."""

    name: str
    origin: str
    files: tuple[PurePosixPath, ...] = ()
    heads: tuple[str, ...] = ()


@frozen
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


@frozen
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


@frozen
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
