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
from collections.abc import Iterator, Sequence

from mergeguard.model import field, frozen
from mergeguard.parse.bounds import check_nesting, check_size
from mergeguard.parse.digest import without_docstring
from mergeguard.parse.header_walk import ignore_codes, source_lines
from mergeguard.parse.source import UnreadableSource, decode

FUNCTION_PREFIXES = ("upgrade", "downgrade")
MAX_SHOWN = 60  # characters of code quoted in a change's description
NESTED = ("body", "orelse", "finalbody")  # statement lists a compound statement holds


@frozen
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


@frozen
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


@frozen
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
    statements = unannotated(without_pass(without_docstring(node.body)))
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


class _Unannotated(ast.NodeTransformer):
    """``x: T = v`` read as ``x = v`` (an annotation runs nothing that a
    migration does; ``x: T`` alone binds nothing), and the names of an import
    sorted (isort, ruff): what runs, not how it is spelled."""

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.stmt | None:
        if node.value is None:
            return None
        plain = ast.Assign(targets=[node.target], value=self.visit(node.value))
        return ast.copy_location(plain, node)

    def visit_Import(self, node: ast.Import) -> ast.Import:
        node.names.sort(key=lambda alias: (alias.name, alias.asname or ""))
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.ImportFrom:
        node.names.sort(key=lambda alias: (alias.name, alias.asname or ""))
        return node


_REWRITTEN = (ast.AnnAssign, ast.Import, ast.ImportFrom)


def unannotated(block: list[ast.stmt]) -> list[ast.stmt]:
    """``block`` as ``_Unannotated`` reads it (a copy where it changes anything)."""
    if not any(isinstance(n, _REWRITTEN) for s in block for n in ast.walk(s)):
        return block
    module = _Unannotated().visit(ast.Module(body=copy.deepcopy(block), type_ignores=[]))
    return list(module.body)


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
    """The first differing statement of two blocks (see ``differences``)."""
    return next(differences(old_block, new_block, enclosing), None)


# Above this many differing statements (between the common head and tail)
# the blocks are compared position by position: difflib's matching is
# quadratic, and a hostile file of 100,000 repeated statements took minutes.
_MATCHED_AT_MOST = 500


def differences(
    old_block: Sequence[ast.stmt], new_block: Sequence[ast.stmt], enclosing: int
) -> Iterator[Change]:
    """Each differing statement of two blocks, in order, looked into when one
    compound statement replaces another with the same head."""
    old_dumps, new_dumps = [ast.dump(s) for s in old_block], [ast.dump(s) for s in new_block]
    head = 0
    while head < min(len(old_dumps), len(new_dumps)) and old_dumps[head] == new_dumps[head]:
        head += 1
    tail = 0
    while (
        tail < min(len(old_dumps), len(new_dumps)) - head
        and old_dumps[-1 - tail] == new_dumps[-1 - tail]
    ):
        tail += 1
    old_end, new_end = len(old_dumps) - tail, len(new_dumps) - tail
    for i1, i2, j1, j2 in _spans(old_dumps, new_dumps, head, old_end, new_end):
        for k in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + k, j1 + k
            if j >= j2:  # removed: placed at the statement now in its stead
                at = new_block[j2].lineno if j2 < len(new_block) else _last_line(new_block)
                yield Change(at or enclosing, f"removes `{_statement(old_block[i]).text}`")
            elif i >= i2:
                yield Change(new_block[j].lineno, f"adds `{_statement(new_block[j]).text}`")
            else:
                yield from _changed(old_block[i], new_block[j])


def _spans(
    old: list[str], new: list[str], head: int, old_end: int, new_end: int
) -> Iterator[tuple[int, int, int, int]]:
    """The differing (old start, old end, new start, new end) runs between
    the common head and tail."""
    if old_end - head > _MATCHED_AT_MOST or new_end - head > _MATCHED_AT_MOST:
        yield head, old_end, head, new_end
        return
    import difflib  # only when a published file changed

    matcher = difflib.SequenceMatcher(None, old[head:old_end], new[head:new_end], False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            yield head + i1, head + i2, head + j1, head + j2


def _last_line(block: Sequence[ast.stmt]) -> int:
    return (block[-1].end_lineno or block[-1].lineno) if block else 0


def _changed(old: ast.stmt, new: ast.stmt) -> Iterator[Change]:
    was, now = _statement(old), _statement(new)
    if was.head == now.head and len(was.nested) == len(now.nested):
        inner = [
            change
            for old_inner, new_inner in zip(was.nested, now.nested, strict=True)
            for change in differences(old_inner, new_inner, now.line)
        ]
        if inner:
            yield from inner
            return
    if was.text == now.text:  # the short forms hide the difference: show more
        yield Change(now.line, f"changes `{was.full}` to `{now.full}`")
    else:
        yield Change(now.line, f"changes `{was.text}` to `{now.text}`")
