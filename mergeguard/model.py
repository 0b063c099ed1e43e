"""Frozen value types shared by every mergeguard module.

This module imports nothing from mergeguard (the Fixit ``ftypes`` model): the
core passes these values around, and only the edges (git, files, terminal)
turn them into I/O.  Collections are tuples so every value is hashable and
immutable.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from pathlib import PurePosixPath
from reprlib import recursive_repr
from types import MemberDescriptorType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar, overload

_T = TypeVar("_T")

if TYPE_CHECKING:  # typing has it from 3.11 on; type checkers know it from typing_extensions
    from dataclasses import replace as replace  # so that mypy checks the changes' types

    from typing_extensions import dataclass_transform
else:

    def dataclass_transform(**_: object) -> Callable[[_T], _T]:
        return lambda decorated: decorated


class _Missing:
    """No default (``dataclasses.MISSING`` without importing dataclasses)."""

    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


class _Field:
    """One field of a @frozen class: what ``field()`` said of it (the options
    of ``dataclasses.field`` that @frozen makes), then its name and annotation."""

    __slots__ = (
        "name",
        "type",
        "default",
        "default_factory",
        "repr",
        "hash",
        "compare",
        "metadata",
    )

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        repr: bool,
        hash: bool | None,
        compare: bool,
        metadata: Mapping[Any, Any] | None = None,
    ) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.type: object = None
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = metadata


@overload
def field(
    *, default: _T, repr: bool = True, hash: bool | None = None, compare: bool = True
) -> _T: ...
@overload
def field(
    *,
    default_factory: Callable[[], _T],
    repr: bool = True,
    hash: bool | None = None,
    compare: bool = True,
) -> _T: ...
@overload
def field(*, repr: bool = True, hash: bool | None = None, compare: bool = True) -> Any: ...
def field(
    *,
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
    repr: bool = True,
    hash: bool | None = None,
    compare: bool = True,
) -> Any:
    """``dataclasses.field`` for a @frozen class, without importing dataclasses."""
    return _Field(default, default_factory, repr, hash, compare)


def _replace(obj: _T, /, **changes: object) -> _T:
    """``dataclasses.replace`` for a @frozen value: its fields, ``changes``
    over them, given to its class (any other dataclass: dataclasses' own)."""
    every: tuple[_Field, ...] | None = getattr(obj.__class__, "__frozen_fields__", None)
    if every is None:
        from dataclasses import replace as replace_dataclass

        replaced: _T = replace_dataclass(obj, **changes)  # type: ignore[type-var]
        return replaced
    for f in every:
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    made: _T = obj.__class__(**changes)
    return made


if not TYPE_CHECKING:
    replace = _replace


@dataclass_transform(frozen_default=True, field_specifiers=(field,))
def frozen(cls: type[_T]) -> type[_T]:
    """``@dataclass(frozen=True, slots=True)``, made without dataclasses.

    ``dataclass`` compiles six methods per class from source text (``__init__``,
    ``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``),
    and importing it costs 6.5 ms (inspect, ast, dis, tokenize ...): a warm
    check imports fifty classes and no dataclasses.  Here the fields come from
    the class's own annotations (strings: ``from __future__ import
    annotations``) and those of a @frozen base, a new class is made with their
    slots and ``__match_args__``, only ``__init__`` is compiled (instances are
    made by the thousand), and the other methods are shared functions over the
    class's field names, with the behaviour ``dataclass`` gives them: ``==``
    and ``hash`` on the tuple of the compared fields (``==`` for an instance of
    the same class only), the same ``repr``, ``FrozenInstanceError`` on any
    assignment or deletion, pickling and ``copy`` through the same
    ``__getstate__`` / ``__setstate__``.  ``dataclasses.fields()``,
    ``replace()``, ``asdict()`` and ``is_dataclass()`` work as on a dataclass:
    ``__dataclass_fields__`` is made by dataclasses on first use
    (``_DataclassView``).  Type checkers read it as that dataclass
    (``dataclass_transform``).  What it does not make (a TypeError says so):
    ``__post_init__``, ``InitVar`` / ``ClassVar`` / ``KW_ONLY`` fields,
    ``field(init=False)``, a base made by ``@dataclass``, a class writing a
    method it makes."""
    for name in _MADE:
        if name in cls.__dict__:
            raise TypeError(f"{cls.__name__}: @frozen makes {name} (use @dataclass to write one)")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__}: @frozen makes plain fields only")
    every = {f.name: f for f in _inherited_fields(cls)}
    every.update((f.name, f) for f in _own_fields(cls))
    made: Any = _slotted(cls, tuple(every.values()))
    _add_methods(made, made.__frozen_fields__)
    if not cls.__dict__.get("__doc__"):  # as dataclass documents a class: by its signature
        made.__doc__ = _signature_doc(made)
    result: type[_T] = made
    return result


_MADE = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__")
_SHARED = ("__setattr__", "__delattr__", "__replace__")  # one function for every class, as it is


def _inherited_fields(cls: type) -> list[_Field]:
    """The fields of the @frozen bases, base first (a later base's field of the
    same name in place of the earlier's), as dataclass collects them."""
    found: dict[str, _Field] = {}
    for base in cls.__mro__[-1:0:-1]:
        if "__frozen_fields__" in base.__dict__:
            found.update((f.name, f) for f in base.__dict__["__frozen_fields__"])
        elif "__dataclass_fields__" in base.__dict__:
            raise TypeError(f"{cls.__name__}: @frozen inherits the fields of @frozen classes only")
    return list(found.values())


def _own_fields(cls: type) -> list[_Field]:
    """The fields the class's own annotations declare, with their defaults."""
    annotations: dict[str, object] = cls.__annotations__  # the class's own (3.10 on)
    made = [_field_of(cls, name, annotation) for name, annotation in annotations.items()]
    for name, value in cls.__dict__.items():
        if name not in annotations and _given_field(value, cls.__name__) is not None:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    return made


def _field_of(cls: type, name: str, annotation: object) -> _Field:
    where = f"{cls.__name__}.{name}"
    if _pseudo_field(annotation):
        raise TypeError(f"{where}: @frozen makes plain fields only")
    default = getattr(cls, name, _MISSING)  # as dataclass: inherited attributes too
    made = _given_field(default, where)
    if made is None:
        if isinstance(default, MemberDescriptorType):
            default = _MISSING  # a @frozen base's slot: no default
        made = _Field(default, _MISSING, True, None, True)
    if made.default is not _MISSING and made.default.__class__.__hash__ is None:
        raise ValueError(
            f"mutable default {type(made.default)} for field {name} is not allowed: "
            "use default_factory"
        )
    made.name, made.type = name, annotation
    return made


def _given_field(value: object, where: str) -> _Field | None:
    """A copy of ``value``'s options when it is ``field(...)``: ours, or
    dataclasses' (a TypeError when it asks for what @frozen does not make)."""
    if isinstance(value, _Field):
        return _Field(value.default, value.default_factory, value.repr, value.hash, value.compare)
    dataclasses = sys.modules.get("dataclasses")  # not imported: no dataclasses.field either
    if dataclasses is None or not isinstance(value, dataclasses.Field):
        return None
    if not value.init or value.kw_only is True:
        raise TypeError(f"{where}: @frozen makes plain fields only")
    missing = dataclasses.MISSING
    return _Field(
        _MISSING if value.default is missing else value.default,
        _MISSING if value.default_factory is missing else value.default_factory,
        value.repr,
        value.hash,
        value.compare,
        value.metadata or None,
    )


def _pseudo_field(annotation: object) -> bool:
    """Whether an annotation is ``ClassVar``, ``InitVar`` or ``KW_ONLY``
    (a string's name as dataclass reads it: ``ClassVar[int]``, ``typing.ClassVar``)."""
    if isinstance(annotation, str):
        name = annotation.partition("[")[0].rpartition(".")[2].strip()
        return name in ("ClassVar", "InitVar", "KW_ONLY")
    origin = getattr(annotation, "__origin__", annotation)
    return origin is ClassVar or getattr(annotation, "__module__", None) == "dataclasses"


def _slotted(cls: type, every: tuple[_Field, ...]) -> type:
    """A new class as ``dataclass(slots=True)`` makes it: the namespace without
    the fields' class attributes, ``__dict__`` and ``__weakref__``, with a slot
    per field no base has."""
    if "__slots__" in cls.__dict__:
        raise TypeError(f"{cls.__name__} already specifies __slots__")
    namespace = dict(cls.__dict__)
    inherited = {slot for base in cls.__mro__[1:-1] for slot in _slots_of(base)}
    names = tuple(f.name for f in every)
    for name in (*names, "__dict__", "__weakref__"):
        namespace.pop(name, None)
    namespace["__slots__"] = tuple(name for name in names if name not in inherited)
    namespace.setdefault("__match_args__", names)
    namespace["__frozen_fields__"] = every
    namespace["__dataclass_fields__"] = _DataclassView()
    namespace["__dataclass_params__"] = _DataclassView()
    made = type(cls)(cls.__name__, cls.__bases__, namespace)
    made.__qualname__ = cls.__qualname__
    return made


def _slots_of(cls: type) -> Iterable[str]:
    slots = cls.__dict__.get("__slots__", ())
    return (slots,) if isinstance(slots, str) else slots


def _add_methods(made: type, every: tuple[_Field, ...]) -> None:
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
    if sys.version_info >= (3, 13):  # dataclass makes it from 3.13 on, for copy.replace()
        methods["__replace__"] = _replace
    for name, method in methods.items():
        if name not in _SHARED:
            method.__name__ = name
            method.__qualname__ = f"{made.__qualname__}.{name}"
        setattr(made, name, method)


class _DataclassView:
    """``__dataclass_fields__`` and ``__dataclass_params__`` of a @frozen class,
    made on first use (of the class or an instance) by dataclasses itself,
    then kept on the class in place of both views: what ``fields()``,
    ``replace()``, ``asdict()`` and ``is_dataclass()`` read are real
    ``Field`` objects, and only they import dataclasses."""

    owner: type
    name: str

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner, name

    def __get__(self, instance: object, owner: type | None = None) -> object:
        made = _dataclass_of(self.owner)
        for name in ("__dataclass_fields__", "__dataclass_params__"):
            setattr(self.owner, name, getattr(made, name))
        return getattr(made, self.name)


def _dataclass_of(cls: type) -> type:
    """A throwaway dataclass with ``cls``'s fields (annotations, defaults and
    options), made by ``dataclass`` as @frozen behaves: its fields and
    parameters are what ``dataclass(frozen=True, slots=True)`` would give ``cls``."""
    from dataclasses import dataclass
    from dataclasses import field as dataclass_field

    every: tuple[_Field, ...] = cls.__dict__["__frozen_fields__"]
    namespace: dict[str, object] = {
        "__module__": cls.__module__,
        "__qualname__": cls.__qualname__,
        "__annotations__": {f.name: f.type for f in every},
    }
    for f in every:
        given = {"default": f.default, "default_factory": f.default_factory}
        namespace[f.name] = dataclass_field(
            **{key: value for key, value in given.items() if value is not _MISSING},
            repr=f.repr,
            hash=f.hash,
            compare=f.compare,
            metadata=f.metadata,
        )
    made: type = dataclass(frozen=True, slots=True)(type(cls.__name__, (), namespace))
    return made


def _signature_doc(cls: type) -> str:
    """What dataclass documents a class with when it has no docstring: its
    name and ``inspect.signature`` without ``-> None``, written here for string
    annotations (inspect costs 7 ms to import)."""
    every: tuple[_Field, ...] = cls.__dict__["__frozen_fields__"]
    if not all(isinstance(f.type, str) for f in every):
        import inspect  # an annotation that is not a string: inspect writes it

        return cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
    params = []
    for f in every:
        default = f" = {_FACTORY!r}" if f.default_factory is not _MISSING else ""
        if f.default is not _MISSING:
            default = f" = {f.default!r}"
        params.append(f"{f.name}: {f.type!r}{default}")
    return cls.__name__ + f"({', '.join(params)}) -> None".replace(" -> None", "")


class _Factory:
    """The default of a parameter whose field has a ``default_factory``."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()


def _init(cls: type, every: tuple[_Field, ...]) -> Callable[..., None]:
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
        value = f.name
        if f.default_factory is not _MISSING:
            scope[f"__frozen_make_{f.name}"] = f.default_factory
            params.append(f"{f.name}=__frozen_factory")
            value = f"__frozen_make_{f.name}() if {f.name} is __frozen_factory else {f.name}"
        elif f.default is not _MISSING:
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
    raise TypeError(f"{cls.__name__}.{name}: no slot")  # _slotted made them


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


# dataclasses' own error, imported when one is raised: never on a check's path
def _refuse_assignment(self: object, name: str, value: object) -> None:
    from dataclasses import FrozenInstanceError

    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_deletion(self: object, name: str) -> None:
    from dataclasses import FrozenInstanceError

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
