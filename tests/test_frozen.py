"""``mergeguard.model.frozen`` behaves as ``@dataclass(frozen=True, slots=True)``
(issue 12: the same values, made at a fraction of the import cost).

Each case is one class written twice, once with each decorator, and the two
are held to the same answers: construction (defaults, factories, errors),
``==``, ``hash``, ``repr`` (nested and recursive), immutability, slots,
``replace``, ``fields``, ``__match_args__``, the signature and generated
docstring, pickling and copying.
"""

from __future__ import annotations

import copy
import inspect
import pickle
from dataclasses import FrozenInstanceError, dataclass, field, fields, replace
from pathlib import PurePosixPath

import pytest

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
    ]


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
        assert type(f).__slots__ == type(d).__slots__  # type: ignore[attr-defined]


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
