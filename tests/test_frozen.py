"""``mergeguard.model.frozen`` behaves as ``@dataclass(frozen=True, slots=True)``
(issue 12: the same values, made at a fraction of the import cost).

Each case is one class written twice, once with each decorator, and the two
are held to the same answers: construction (defaults, factories, errors),
``==``, ``hash``, ``repr`` (nested and recursive), immutability, slots,
``replace``, ``fields``, ``asdict``, ``is_dataclass``, ``__match_args__``, the
signature and generated docstring, pickling and copying, inheritance.  And what
@frozen does without: dataclasses itself, imported only when its functions are
called on a value (``__dataclass_fields__`` is made on first use).
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
import subprocess
import sys
from dataclasses import FrozenInstanceError, asdict, dataclass, field, fields, is_dataclass, replace
from pathlib import PurePosixPath
from typing import ClassVar

import pytest

from mergeguard import model
from mergeguard.model import MigrationScript, Span, Spans, frozen


@dataclass(frozen=True, slots=True)
class PlainD:
    """A documented class."""

    name: str
    line: int = 1
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    weight: float = field(default=0.0, hash=False)


@frozen
class PlainF:
    """A documented class."""

    name: str
    line: int = 1
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = model.field(default_factory=dict, compare=False, repr=False)
    weight: float = model.field(default=0.0, hash=False)


@frozen
class DataF:  # dataclasses' own field() read the same
    """A documented class."""

    name: str
    line: int = 1
    tags: tuple[str, ...] = ()
    extra: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    weight: float = field(default=0.0, hash=False)


@dataclass(frozen=True, slots=True)
class OneD:
    value: object


@frozen
class OneF:
    value: object


@dataclass(frozen=True, slots=True)
class EmptyD:
    pass


@dataclass(frozen=True, slots=True)
class UndocumentedD:
    path: PurePosixPath
    text: str = "a 'quoted' -> None"
    items: tuple[int, ...] = field(default_factory=tuple)
    where: PurePosixPath = PurePosixPath(".")
    shown: str = field(default="", repr=False)


@frozen
class UndocumentedF:
    path: PurePosixPath
    text: str = "a 'quoted' -> None"
    items: tuple[int, ...] = model.field(default_factory=tuple)
    where: PurePosixPath = PurePosixPath(".")
    shown: str = model.field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class BaseD:
    name: str
    line: int = 1


@dataclass(frozen=True, slots=True)
class ChildD(BaseD):
    line: int = 2
    tags: tuple[str, ...] = ()


@frozen
class BaseF:
    name: str
    line: int = 1


@frozen
class ChildF(BaseF):
    line: int = 2
    tags: tuple[str, ...] = ()


@frozen
class EmptyF:
    pass


def pairs() -> list[tuple[object, object]]:
    nan = float("nan")
    return [
        (PlainD("a"), PlainF("a")),
        (PlainD("a", 2, ("x",), {"k": 1}, 0.5), PlainF("a", 2, ("x",), {"k": 1}, 0.5)),
        (PlainD(name="b", weight=2.0), PlainF(name="b", weight=2.0)),
        (OneD(nan), OneF(nan)),
        (OneD([1, 2]), OneF([1, 2])),
        (EmptyD(), EmptyF()),
        (
            UndocumentedD(PurePosixPath("a"), items=(1,)),
            UndocumentedF(PurePosixPath("a"), items=(1,)),
        ),
        (ChildD("c"), ChildF("c")),
        (ChildD("c", 3, ("t",)), ChildF("c", 3, ("t",))),
    ]


def own_slots(cls: type) -> tuple[str, ...]:
    """A dataclass's slots but those of its bases (3.10's dataclass repeats
    them; from 3.11 on it leaves them out, as @frozen does)."""
    inherited = {s for base in cls.__mro__[1:] for s in base.__dict__.get("__slots__", ())}
    return tuple(s for s in cls.__slots__ if s not in inherited)  # type: ignore[attr-defined]


def test_equality_and_hash_are_dataclass_s() -> None:
    made = pairs()
    for d, f in made:
        for d2, f2 in made:
            assert (d == d2) == (f == f2)
            assert (d != d2) == (f != f2)
        assert f == copy.copy(f)
        assert f != d  # another class is never equal, as with dataclass
        assert f.__eq__(d) is NotImplemented
        if not isinstance(getattr(d, "value", None), list):
            assert hash(d) == hash(f)
    with pytest.raises(TypeError, match="unhashable"):
        hash(OneF([1]))
    # compare=False and hash=False fields as dataclass reads them
    assert PlainF("a", extra={"x": 1}) == PlainF("a", extra={"y": 2})
    assert hash(PlainF("a", weight=1.0)) == hash(PlainF("a", weight=2.0))
    assert PlainF("a", weight=1.0) != PlainF("a", weight=2.0)


def test_repr_is_dataclass_s() -> None:
    for d, f in pairs():
        assert repr(f) == repr(d).replace("D(", "F(", 1)
    inner_d, inner_f = OneD(PlainD("x")), OneF(PlainF("x"))
    assert repr(inner_f) == repr(inner_d).replace("D(", "F(")
    loop_d: list[object] = []
    loop_f: list[object] = []
    d, f = OneD(loop_d), OneF(loop_f)
    loop_d.append(OneD(d))
    loop_f.append(OneF(f))
    assert repr(f) == repr(d).replace("D(", "F(") == "OneF(value=[OneF(value=...)])"
    assert repr(Span(3, 4)) == "Span(line=3, column=4)"


def test_immutable_and_slotted() -> None:
    for d, f in pairs():
        for name in (x.name for x in fields(f)):  # type: ignore[arg-type]
            with pytest.raises(FrozenInstanceError, match=f"cannot assign to field '{name}'"):
                setattr(f, name, 1)
            with pytest.raises(FrozenInstanceError, match=f"cannot delete field '{name}'"):
                delattr(f, name)
        with pytest.raises(FrozenInstanceError):
            f.other = 1  # type: ignore[attr-defined]
        assert not hasattr(f, "__dict__")
        assert type(f).__slots__ == own_slots(type(d))  # type: ignore[attr-defined]


def test_construction_is_dataclass_s() -> None:
    assert str(inspect.signature(PlainF)) == str(inspect.signature(PlainD))
    assert OneF.__doc__ == "OneF(value: 'object') -> None".replace(" -> None", "")
    assert EmptyF.__doc__ == "EmptyF()" and EmptyD.__doc__ == "EmptyD()"
    assert (
        PlainF.__match_args__
        == PlainD.__match_args__
        == (
            "name",
            "line",
            "tags",
            "extra",
            "weight",
        )
    )
    first, second = PlainF("a"), PlainF("a")
    assert first.extra == {} and first.extra is not second.extra  # a factory per instance
    for args, kwargs in (((), {}), (("a",), {"nope": 1}), (("a", 1, (), {}, 0.0, 9), {})):
        with pytest.raises(TypeError) as mine:
            PlainF(*args, **kwargs)
        with pytest.raises(TypeError) as theirs:
            PlainD(*args, **kwargs)
        assert str(mine.value) == str(theirs.value).replace("PlainD", "PlainF")
    assert [f.name for f in fields(PlainF)] == [f.name for f in fields(PlainD)]


def test_replace_pickle_copy() -> None:
    for d, f in pairs():
        assert f.__getstate__() == d.__getstate__()  # type: ignore[attr-defined]
        assert copy.deepcopy(f).__getstate__() == copy.deepcopy(d).__getstate__()  # type: ignore[attr-defined]
    value = PlainF("a", 2, ("x",), {"k": 1}, 0.5)
    loaded = pickle.loads(pickle.dumps(value))
    assert loaded == value and type(loaded) is PlainF and loaded.extra == {"k": 1}
    assert copy.copy(value) == value and copy.deepcopy(value).extra is not value.extra
    changed = replace(PlainF("a", 2), line=3)
    assert changed == PlainF("a", 3) and type(changed) is PlainF
    with pytest.raises(TypeError):
        replace(PlainF("a"), nope=1)  # type: ignore[call-arg]


def test_model_values_round_trip() -> None:
    script = MigrationScript(
        PurePosixPath("v/a.py"), "a", ("b",), spans=Spans(revision=Span(3)), blob="x"
    )
    assert pickle.loads(pickle.dumps(script)) == script
    assert replace(script, message="") == script != replace(script, message="m")
    assert {script: 1}[copy.deepcopy(script)] == 1


def test_refuses_what_it_does_not_make() -> None:
    with pytest.raises(TypeError, match="makes __repr__"):

        @frozen
        class Own:
            x: int

            def __repr__(self) -> str:
                return "mine"

    with pytest.raises(TypeError, match="plain fields"):

        @frozen
        class Later:
            x: int

            def __post_init__(self) -> None:
                pass

    with pytest.raises(TypeError, match="plain fields"):

        @frozen
        class Hidden:
            x: int = field(default=0, init=False)

    with pytest.raises(TypeError, match="non-default argument 'y'"):

        @frozen
        class Order:
            x: int = 0
            y: int  # type: ignore[misc]


SIBLINGS = [(PlainD, PlainF), (PlainD, DataF), (OneD, OneF), (EmptyD, EmptyF)]
SIBLINGS += [(UndocumentedD, UndocumentedF), (BaseD, BaseF), (ChildD, ChildF)]


def test_signature_doc_and_slots_of_every_kind() -> None:
    for d, f in SIBLINGS:
        assert str(inspect.signature(f)) == str(inspect.signature(d))
        assert f.__doc__ == d.__doc__.replace(d.__name__, f.__name__)  # type: ignore[union-attr]
        assert f.__match_args__ == d.__match_args__  # type: ignore[attr-defined]
        assert f.__slots__ == own_slots(d)  # type: ignore[attr-defined]
        assert f.__init__.__annotations__ == d.__init__.__annotations__  # type: ignore[misc]
    assert UndocumentedF.__doc__ == (
        "UndocumentedF(path: 'PurePosixPath', text: 'str' = \"a 'quoted'\", "
        "items: 'tuple[int, ...]' = <factory>, where: 'PurePosixPath' = PurePosixPath('.'), "
        "shown: 'str' = '')"
    )  # dataclass's, " -> None" taken out of a default too
    child = ChildF("c", tags=("t",))
    assert (child.name, child.line, child.tags) == ("c", 2, ("t",))
    assert isinstance(child, BaseF) and child != BaseF("c", 2) and BaseF("c", 2) != child
    assert not hasattr(child, "__dict__")


def test_dataclasses_functions_read_real_fields() -> None:
    for d, f in SIBLINGS:
        assert is_dataclass(f) and is_dataclass(f.__new__(f))
        theirs = [(x.name, x.type, x.default, x.default_factory) for x in fields(d)]
        mine = [(x.name, x.type, x.default, x.default_factory) for x in fields(f)]
        assert mine == theirs
        flags = [
            (x.init, x.repr, x.hash, x.compare, x.kw_only, dict(x.metadata)) for x in fields(d)
        ]
        assert [
            (x.init, x.repr, x.hash, x.compare, x.kw_only, dict(x.metadata)) for x in fields(f)
        ] == flags
        assert all(isinstance(x, dataclasses.Field) for x in fields(f))
        assert f.__dataclass_params__.frozen  # type: ignore[attr-defined]
        assert repr(f.__dataclass_params__) == repr(d.__dataclass_params__)  # type: ignore[attr-defined]
        assert type(f.__dict__["__dataclass_fields__"]) is dict  # made once, then kept
    for d, f in pairs():
        assert asdict(f) == asdict(d)  # type: ignore[call-overload]
    nested = MigrationScript(PurePosixPath("v/a.py"), "a", (), spans=Spans(revision=Span(3)))
    assert asdict(nested)["spans"]["revision"] == {"line": 3, "column": 1}
    assert fields(ChildF("c"))[1].default == 2  # the child's own default
    assert not is_dataclass(MigrationScript.__dict__)  # a mapping, not a value


def _flags(made: dataclasses.Field[object]) -> tuple[object, ...]:
    return (made.init, made.repr, made.hash, made.compare, made.kw_only, dict(made.metadata))


def test_model_replace_is_dataclasses_replace() -> None:
    for d, f in pairs():
        for name in (x.name for x in fields(d)):  # type: ignore[arg-type]
            value = getattr(d, name)
            assert model.replace(f, **{name: value}) == replace(f, **{name: value})
            assert model.replace(f, **{name: value}) == f
    script = MigrationScript(PurePosixPath("v/a.py"), "a", ("b",), message="m")
    changed = model.replace(script, message="n", blob="x")
    assert changed == replace(script, message="n", blob="x") and type(changed) is MigrationScript
    assert model.replace(script) == script and model.replace(script) is not script
    for bad in ({"nope": 1}, {"message": "n", "nope": 1}):
        with pytest.raises(TypeError) as mine:
            model.replace(script, **bad)
        with pytest.raises(TypeError) as theirs:
            replace(script, **bad)  # type: ignore[arg-type]
        assert str(mine.value) == str(theirs.value)
    assert model.replace(PlainD("a"), line=2) == PlainD("a", 2)  # any dataclass: dataclasses'
    assert hasattr(script, "__replace__") == hasattr(PlainD("a"), "__replace__")  # 3.13's
    if sys.version_info >= (3, 13):
        assert copy.replace(script, message="n") == changed.__replace__(blob="")  # type: ignore[attr-defined]
    assert model.replace(ChildF("c"), name="d") == ChildF("d")


def test_the_project_s_field_is_dataclasses_field() -> None:
    first = UndocumentedF(PurePosixPath("a"))
    assert first.items == () and repr(first) == repr(UndocumentedD(PurePosixPath("a"))).replace(
        "D(", "F(", 1
    )
    assert PlainF("a", extra={"x": 1}) == PlainF("a") and PlainF("a").extra is not PlainF("a").extra
    assert hash(PlainF("a", weight=1.0)) == hash(PlainF("a", weight=2.0))
    with pytest.raises(ValueError, match="cannot specify both default and default_factory"):
        model.field(default=(), default_factory=tuple)  # type: ignore[call-overload]


def test_import_needs_no_dataclasses_or_inspect() -> None:
    """A fresh interpreter imports the model, makes, compares, hashes, prints,
    replaces, pickles and copies its values without either; ``fields()``
    is what brings dataclasses in."""
    probe = (
        "import copy, pickle, sys\n"
        "from pathlib import PurePosixPath\n"
        "from mergeguard.model import MigrationScript, Spans, replace\n"
        "s = MigrationScript(PurePosixPath('a.py'), 'a', ('b',))\n"
        "t = replace(s, message='m')\n"
        "assert t != s and hash(s) == hash(copy.deepcopy(s)) and 'a.py' in repr(s)\n"
        "assert pickle.loads(pickle.dumps(t)) == t and MigrationScript.__doc__\n"
        "print(sorted({'dataclasses', 'inspect'} & sys.modules.keys()))\n"
        "import dataclasses\n"
        "print([f.name for f in dataclasses.fields(Spans)][:2])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines() == ["[]", "['revision', 'down_revision']"]


def test_refuses_what_dataclass_would_make_otherwise() -> None:
    for annotation in ("ClassVar[int]", "typing.ClassVar[int]", "InitVar[int]", "KW_ONLY"):
        with pytest.raises(TypeError, match="plain fields"):
            frozen(type("Pseudo", (), {"__annotations__": {"x": annotation}}))
    with pytest.raises(TypeError, match="plain fields"):
        frozen(type("Pseudo", (), {"__annotations__": {"x": ClassVar[int]}}))
    with pytest.raises(TypeError, match="plain fields"):
        frozen(type("Pseudo", (), {"__annotations__": {"x": dataclasses.KW_ONLY}}))
    with pytest.raises(TypeError, match="plain fields"):

        @frozen
        class Keyword:
            x: int = field(default=0, kw_only=True)

    with pytest.raises(ValueError, match="mutable default <class 'list'> for field x"):

        @frozen
        class Mutable:
            x: list[int] = []

    with pytest.raises(TypeError, match="'y' is a field but has no type annotation"):

        @frozen
        class Unannotated:
            x: int
            y = model.field(default=0)

    with pytest.raises(TypeError, match="already specifies __slots__"):

        @frozen
        class Slotted:
            __slots__ = ("x",)
            x: int

    with pytest.raises(TypeError, match="fields of @frozen classes only"):

        @frozen
        class FromDataclass(PlainD):
            more: int = 0
