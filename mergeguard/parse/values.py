"""Static values of module-level names, as both header readers produce them.

A reader turns the right-hand side of ``down_revision = ...`` into a small
expression tree without running anything:

- ``Lit``: a string or ``None`` (implicit concatenation already folded);
- ``Seq``: a tuple or list of expressions;
- ``Concat``: ``a + b`` of expressions;
- ``Ref``: a name imported from another module (``cli.EXPAND_BRANCH``),
  resolved later by reading that module statically at the same ref;
- ``Dyn``: anything else (a call, an f-string, an unbound name, a number),
  which becomes an MG002 ``dynamic-header`` diagnostic.

Both readers (``ast`` and ``libcst``) must build equal trees for the same
file; a test holds them to it.  Values round-trip through JSON for the cache.
"""

from __future__ import annotations

from collections.abc import Callable

from mergeguard.model import Span, frozen


@frozen
class Lit:
    value: str | None


@frozen
class Seq:
    items: tuple[Expr, ...]


@frozen
class Concat:
    parts: tuple[Expr, ...]


@frozen
class Ref:
    """An imported name.  ``target`` is absolute (``pkg.mod.NAME``) or relative
    (``.cli.NAME``, leading dots as in the import); ``spelled`` is how the
    source wrote it (``cli.NAME``), the key users give in ``constants``."""

    target: str
    spelled: str


@frozen
class Dyn:
    """A value mergeguard will not guess.  ``what`` describes it for a message:
    ``a call to get_down_revision()``, ``an f-string``, ``the name PREV``."""

    what: str


Expr = Lit | Seq | Concat | Ref | Dyn


@frozen
class Binding:
    """The last module-level assignment of one name."""

    name: str
    value: Expr
    span: Span


@frozen
class ModuleFacts:
    """What a reader learnt about one module, cacheable by blob id.

    ``error`` is set (with ``error_span``) when the bytes are not Python that
    can be read: then the other fields are empty, or hold the header that
    ``parse.header_tokens`` read from the tokens of a file with a syntax error (its
    header names and docstring only).  ``ignores`` are the codes of
    ``# mergeguard: ignore[...]`` comments on the ``down_revision`` lines.
    """

    error: str | None = None
    error_span: Span | None = None
    docstring: str | None = None
    docstring_span: Span | None = None
    bindings: tuple[Binding, ...] = ()
    ignores: tuple[str, ...] = ()

    def binding(self, name: str) -> Binding | None:
        """The binding of ``name``, or None when the module never assigns it."""
        for binding in self.bindings:
            if binding.name == name:
                return binding
        return None


HEADER_NAMES = ("revision", "down_revision", "branch_labels", "depends_on")

# Limits of one static value.  Rebinding (``X = (X, X)`` thirty times, ``X = X
# + X``) doubles a value per line, so without them a short file describes
# gigabytes.  A real header is a handful of ids of a few dozen characters.
MAX_VALUE_DEPTH = 32
MAX_VALUE_PARTS = 10_000
MAX_VALUE_CHARS = 1 << 20
TOO_DEEP_VALUE = f"a value nested too deeply to read statically (over {MAX_VALUE_DEPTH} levels)"
TOO_MANY_PARTS = f"a value too large to read statically (over {MAX_VALUE_PARTS:,} parts)"
TOO_LONG_VALUE = f"a value too large to read statically (over {MAX_VALUE_CHARS:,} characters)"


def bounded(value: Expr) -> Expr:
    """``value``, or a Dyn saying which limit it passes.  Iterative and
    stopping at the first limit, so it costs at most MAX_VALUE_PARTS steps
    however large the (shared) tree is."""
    parts = chars = 0
    pending: list[tuple[Expr, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        parts += 1
        if depth > MAX_VALUE_DEPTH:
            return Dyn(TOO_DEEP_VALUE)
        if parts > MAX_VALUE_PARTS:
            return Dyn(TOO_MANY_PARTS)
        if isinstance(node, Lit) and node.value:
            chars += len(node.value)
            if chars > MAX_VALUE_CHARS:
                return Dyn(TOO_LONG_VALUE)
        elif isinstance(node, (Seq, Concat)):
            children = node.items if isinstance(node, Seq) else node.parts
            if parts + len(children) > MAX_VALUE_PARTS:
                return Dyn(TOO_MANY_PARTS)
            pending.extend((child, depth + 1) for child in children)
    return value


def concat_values(parts: list[Expr]) -> Expr:
    """Fold ``a + b``: two literal strings become one; tuples join; else Concat.
    A result past the value limits is a Dyn, checked before it is built."""
    flat: list[Expr] = []
    for part in parts:
        flat.extend(part.parts if isinstance(part, Concat) else (part,))
    if len(flat) > MAX_VALUE_PARTS:
        return Dyn(TOO_MANY_PARTS)
    if all(isinstance(p, Lit) and isinstance(p.value, str) for p in flat):
        strings = [p.value for p in flat if isinstance(p, Lit) and p.value is not None]
        if sum(map(len, strings)) > MAX_VALUE_CHARS:
            return Dyn(TOO_LONG_VALUE)
        return Lit("".join(strings))
    if all(isinstance(p, Seq) for p in flat):
        if sum(len(p.items) for p in flat if isinstance(p, Seq)) > MAX_VALUE_PARTS:
            return Dyn(TOO_MANY_PARTS)
        return Seq(tuple(item for p in flat if isinstance(p, Seq) for item in p.items))
    return Concat(tuple(flat))


def substitute(value: Expr, lookup: Callable[[Ref], Expr]) -> Expr:
    """Replace every ``Ref`` in ``value`` by ``lookup(ref)`` and fold the
    result, within the value limits."""
    return bounded(_substitute(value, lookup))


def _substitute(value: Expr, lookup: Callable[[Ref], Expr]) -> Expr:
    if isinstance(value, Ref):
        return lookup(value)
    if isinstance(value, Seq):
        return Seq(tuple(_substitute(item, lookup) for item in value.items))
    if isinstance(value, Concat):
        return concat_values([_substitute(part, lookup) for part in value.parts])
    return value


def first_unresolved(value: Expr) -> Expr | None:
    """The first part of ``value`` that is not a literal (a Ref, Dyn or mixed
    Concat), or None when the whole value is static."""
    if isinstance(value, Lit):
        return None
    if isinstance(value, Seq):
        for item in value.items:
            found = first_unresolved(item)
            if found is not None:
                return found
        return None
    if isinstance(value, Concat):
        for part in value.parts:
            found = first_unresolved(part)
            if found is not None:
                return found
        return Dyn("a '+' of values that are not all strings or all tuples")
    return value


# -- JSON, for the cache -------------------------------------------------------

JSON = None | str | int | list["JSON"] | dict[str, "JSON"]


def expr_to_json(value: Expr) -> JSON:
    if isinstance(value, Lit):
        return ["l", value.value]
    if isinstance(value, Seq):
        return ["s", [expr_to_json(i) for i in value.items]]
    if isinstance(value, Concat):
        return ["c", [expr_to_json(i) for i in value.parts]]
    if isinstance(value, Ref):
        return ["r", value.target, value.spelled]
    return ["d", value.what]


def expr_from_json(data: object) -> Expr:
    """Inverse of expr_to_json; raises ValueError on anything malformed."""
    if not isinstance(data, list) or not data:
        raise ValueError("bad expression")
    tag = data[0]
    if tag == "l" and len(data) == 2 and (data[1] is None or isinstance(data[1], str)):
        return Lit(data[1])
    if tag in ("s", "c") and len(data) == 2 and isinstance(data[1], list):
        items = tuple(expr_from_json(i) for i in data[1])
        return Seq(items) if tag == "s" else Concat(items)
    if tag == "r" and len(data) == 3 and all(isinstance(x, str) for x in data[1:]):
        return Ref(data[1], data[2])
    if tag == "d" and len(data) == 2 and isinstance(data[1], str):
        return Dyn(data[1])
    raise ValueError("bad expression")


def _span_to_json(span: Span | None) -> JSON:
    return None if span is None else [span.line, span.column]


def _span_from_json(data: object) -> Span | None:
    if data is None:
        return None
    if isinstance(data, list) and len(data) == 2 and all(isinstance(x, int) for x in data):
        return Span(data[0], data[1])
    raise ValueError("bad span")


def facts_to_json(facts: ModuleFacts) -> JSON:
    return {
        "error": facts.error,
        "error_span": _span_to_json(facts.error_span),
        "doc": facts.docstring,
        "doc_span": _span_to_json(facts.docstring_span),
        "bindings": [
            [b.name, expr_to_json(b.value), _span_to_json(b.span)] for b in facts.bindings
        ],
        "ignores": list(facts.ignores),
    }


def facts_from_json(data: object) -> ModuleFacts:
    """Inverse of facts_to_json; raises ValueError (or TypeError) when malformed."""
    if not isinstance(data, dict):
        raise ValueError("bad facts")
    bindings = []
    for name, value, span in data["bindings"]:
        parsed_span = _span_from_json(span)
        if not isinstance(name, str) or parsed_span is None:
            raise ValueError("bad binding")
        bindings.append(Binding(name, expr_from_json(value), parsed_span))
    error, doc = data["error"], data["doc"]
    if not (error is None or isinstance(error, str)) or not (doc is None or isinstance(doc, str)):
        raise ValueError("bad facts")
    ignores = data["ignores"]
    if not isinstance(ignores, list) or not all(isinstance(i, str) for i in ignores):
        raise ValueError("bad ignores")
    return ModuleFacts(
        error=error,
        error_span=_span_from_json(data["error_span"]),
        docstring=doc,
        docstring_span=_span_from_json(data["doc_span"]),
        bindings=tuple(bindings),
        ignores=tuple(ignores),
    )
