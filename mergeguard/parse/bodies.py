"""The code of a migration's ``upgrade*()`` / ``downgrade*()`` functions as
normalised syntax, read with the standard ``ast`` (never imported or run).

Two versions of a function are the same code when their syntax trees are:
comments, blank lines, line breaks, quote style, the docstring, ``pass``
and the annotations of the signature (``-> None``, ``engine_name: str`` of the
annotated templates) do not count.
``read_bodies`` gives each function's digest and its statements (each with
its dump, line and a short rendering), so that ``first_change`` can say where
two versions first differ and what changed there (MG107).
"""

from __future__ import annotations

import ast
import copy
import hashlib
from dataclasses import dataclass, field

from mergeguard.parse.bounds import check_nesting, check_size
from mergeguard.parse.digest import without_docstring
from mergeguard.parse.header_walk import ignore_codes, source_lines
from mergeguard.parse.source import UnreadableSource, decode

FUNCTION_PREFIXES = ("upgrade", "downgrade")
MAX_SHOWN = 60  # characters of code quoted in a change's description
NESTED = ("body", "orelse", "finalbody")  # statement lists a compound statement holds


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a changed function (made only along the path to the
    first change): ``head`` its normalised syntax without the statements it
    holds (equal heads: the change is inside), ``text`` a short rendering,
    ``full`` a longer one, ``nested`` the statements it holds, per block
    (``body``, ``orelse``, ``finalbody``)."""

    head: str
    line: int
    text: str
    full: str = ""
    nested: tuple[tuple[ast.stmt, ...], ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Body:
    """One module-level ``upgrade*()`` / ``downgrade*()`` function.

    ``digest`` fingerprints its signature and statements (docstring and
    ``pass`` left out; ``statements`` are those, as parsed); ``ignores`` are
    the codes of ``# mergeguard: ignore[...]`` comments anywhere from its
    ``def`` line to its last line."""

    name: str
    digest: str
    line: int
    end_line: int
    signature: str
    statements: tuple[ast.stmt, ...] = field(default=(), compare=False, repr=False)
    ignores: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Change:
    """Where two versions of a function first differ (a line of the new
    version) and what changed there, e.g. "adds `op.add_column('t', ...)`"."""

    line: int
    what: str


def read_bodies(data: bytes) -> dict[str, Body] | None:
    """Function name -> Body for the upgrade and downgrade functions of a
    migration file; None when the file cannot be read (MG001 says why)."""
    parsed = parse_migration(data)
    if parsed is None:
        return None
    try:
        return bodies_of(*parsed)
    except (RecursionError, MemoryError):  # deeper than ast's own walks go
        return None


def parse_migration(data: bytes) -> tuple[ast.Module, list[str], bool] | None:
    """The syntax tree of a file within the reader's bounds, its lines (as
    ``ast`` numbers them; empty when no ``mergeguard`` comment can be in
    them) and whether it may hold a ``pass``; None when it cannot be read."""
    try:
        check_size(data)
        text = decode(data)
        check_nesting(text)
        module = ast.parse(text)
    except (UnreadableSource, SyntaxError, ValueError):
        return None
    except (RecursionError, MemoryError):
        return None
    lines = source_lines(text) if "mergeguard" in text else []
    return module, lines, "pass" in text  # no `pass`: no walk looks for one


def bodies_of(module: ast.Module, lines: list[str], passes: bool = True) -> dict[str, Body]:
    """The upgrade*/downgrade* functions of a parsed file (may raise
    RecursionError on trees deeper than ``ast`` walks)."""
    return {
        node.name: _body(node, lines, passes)
        for node in module.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith(FUNCTION_PREFIXES)
    }


def body_fingerprints(data: bytes) -> dict[str, tuple[str, int]]:
    """Function name -> (digest, line of its ``def``); empty when unreadable."""
    return {name: (b.digest, b.line) for name, b in (read_bodies(data) or {}).items()}


def _body(
    node: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str], passes: bool = True
) -> Body:
    """One dump per statement (and, when the file has a ``pass``, one walk
    to drop them from nested blocks)."""
    statements = without_pass(without_docstring(node.body))
    signature = _signature(node)
    for inner in ast.walk(ast.Module(body=statements, type_ignores=[])) if passes else ():
        for name in NESTED:  # a `pass` runs nothing wherever it stands
            block = getattr(inner, name, None)
            if isinstance(block, list) and any(isinstance(s, ast.Pass) for s in block):
                setattr(inner, name, without_pass(block))
    digest = hashlib.sha256(
        "\n".join((signature, *(ast.dump(s) for s in statements))).encode()
    ).hexdigest()
    end = node.end_lineno or node.lineno
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    ignores = ignore_codes(lines, first, end) if lines else ()
    return Body(node.name, digest, node.lineno, end, signature, tuple(statements), ignores)


def without_pass(block: list[ast.stmt]) -> list[ast.stmt]:
    return [s for s in block if not isinstance(s, ast.Pass)]


def _signature(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """The parameters (names, kinds, defaults) and decorators: annotations
    left out, so the two template styles' ``-> None`` / ``engine_name: str``
    read the same."""
    arguments = node.args
    names = [
        *(f"/{a.arg}" for a in arguments.posonlyargs),
        *(a.arg for a in arguments.args),
        *(f"*{a.arg}" for a in [arguments.vararg] if a is not None),
        *(f"={a.arg}" for a in arguments.kwonlyargs),
        *(f"**{a.arg}" for a in [arguments.kwarg] if a is not None),
    ]
    defaults = [ast.dump(d) for d in arguments.defaults]
    defaults += [ast.dump(d) if d is not None else "-" for d in arguments.kw_defaults]
    decorators = [ast.dump(d) for d in node.decorator_list]
    return "|".join((type(node).__name__, ",".join(names), *defaults, "@", *decorators))


def _statement(node: ast.stmt) -> Statement:
    blocks = [getattr(node, n) for n in NESTED if isinstance(getattr(node, n, None), list)]
    head = ast.dump(node)
    if blocks:
        bare = copy.copy(node)  # shallow: the statement's own fields, its blocks emptied
        for name in NESTED:
            if hasattr(bare, name):
                setattr(bare, name, [])
        head = ast.dump(bare)
    full = _cut(" ".join(ast.unparse(node).split()), 2 * MAX_SHOWN)
    nested = tuple(tuple(block) for block in blocks)
    return Statement(head, node.lineno, _shown(node), full, nested)


def _shown(node: ast.stmt) -> str:
    """A short rendering: a call as ``f(first, ...)``, a compound statement
    by its first line, anything else cut to MAX_SHOWN characters."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        call = node.value
        arguments = [*call.args, *call.keywords]
        first = ast.unparse(arguments[0]) if arguments else ""
        if len(first) > MAX_SHOWN // 2:
            first = "..."
        rest = ", ..." if len(arguments) > 1 and first != "..." else ""
        text = f"{ast.unparse(call.func)}({first}{rest})"
    else:
        text = ast.unparse(node).split("\n", 1)[0]
        if any(isinstance(getattr(node, name, None), list) for name in NESTED):
            text = text.rstrip(":") + ": ..."
    return _cut(text, MAX_SHOWN)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_change(before: Body, after: Body) -> Change:
    """Where ``after`` first differs from ``before`` (same name, other digest)."""
    if before.signature != after.signature:
        return Change(after.line, f"changes the signature of {after.name}()")
    found = first_difference(before.statements, after.statements, after.line)
    return found or Change(after.line, f"changes {after.name}()")


def first_difference(
    old_block: tuple[ast.stmt, ...], new_block: tuple[ast.stmt, ...], enclosing: int
) -> Change | None:
    """The first differing statement of two blocks, looked into when one
    compound statement replaces another with the same head."""
    import difflib  # only when a published function changed

    old_dumps, new_dumps = [ast.dump(s) for s in old_block], [ast.dump(s) for s in new_block]
    matcher = difflib.SequenceMatcher(None, old_dumps, new_dumps, False)
    for tag, i1, _, j1, _ in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "insert":
            return Change(new_block[j1].lineno, f"adds `{_statement(new_block[j1]).text}`")
        if tag == "delete":
            line = (
                new_block[j1].lineno
                if j1 < len(new_block)
                else (new_block[-1].lineno if new_block else enclosing)
            )
            return Change(line, f"removes `{_statement(old_block[i1]).text}`")
        was, now = _statement(old_block[i1]), _statement(new_block[j1])
        if was.head == now.head and len(was.nested) == len(now.nested):
            for old_inner, new_inner in zip(was.nested, now.nested, strict=True):
                inner = first_difference(old_inner, new_inner, now.line)
                if inner is not None:
                    return inner
        if was.text == now.text:  # the short forms hide the difference: show more
            return Change(now.line, f"changes `{was.full}` to `{now.full}`")
        return Change(now.line, f"changes `{was.text}` to `{now.text}`")
    return None
