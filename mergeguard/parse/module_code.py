"""A migration's module-level code other than its ``upgrade*()`` /
``downgrade*()`` functions, as normalised syntax (MG107): the constants and
helper functions those functions use.

Left out: the module docstring, the revision identifiers (``revision``,
``down_revision``, ``branch_labels``, ``depends_on``, annotated or not: MG103
judges them), the ``upgrade*()`` / ``downgrade*()`` functions (``bodies``
compares them) and imports from ``__future__``, ``typing``,
``typing_extensions`` and ``collections.abc``, which carry annotations only
(the annotated template's ``from typing import Sequence, Union`` comes with
annotating the identifiers), and imports of names the module never uses (ruff
removing an unused import is no edit; a side-effect-only import is not
compared either).  The other imports are compared as a set of what they bind,
so isort/ruff reordering, merging or splitting them is quiet.
The other statements are compared in order, as ``bodies`` compares a
function's: comments, layout, quotes, ``pass``, docstrings and the signature
annotations of helper functions and classes do not count.
"""

from __future__ import annotations

import ast
import copy
import hashlib
from collections.abc import Iterator

from mergeguard.model import field, frozen
from mergeguard.parse.bodies import (
    FUNCTION_PREFIXES,
    NESTED,
    Body,
    Change,
    bodies_of,
    differences,
    parse_migration,
    unannotated,
    without_pass,
)
from mergeguard.parse.digest import without_docstring
from mergeguard.parse.header_walk import ignore_codes

REVISION_NAMES = frozenset({"revision", "down_revision", "branch_labels", "depends_on"})
ANNOTATION_MODULES = frozenset({"__future__", "typing", "typing_extensions", "collections.abc"})
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


@frozen
class Imported:
    """One name an import binds: ``key`` what it binds to what, ``bound``
    the name, ``text`` its statement as written (normalised), ``line`` the
    statement's."""

    key: str
    line: int
    text: str
    bound: str = "*"


@frozen
class ModuleCode:
    """``digest`` fingerprints the imports (as a set) and the other
    statements (in order, ``statements`` as normalised); ``spans`` are
    (first line, last line, waived codes) per top-level statement compared;
    ``used`` the names the file uses (an import of another name is none)."""

    digest: str
    imports: tuple[Imported, ...] = ()
    used: frozenset[str] = frozenset()
    statements: tuple[ast.stmt, ...] = field(default=(), compare=False, repr=False)
    spans: tuple[tuple[int, int, tuple[str, ...]], ...] = ()

    def ignores_at(self, line: int) -> tuple[str, ...]:
        """The codes waived on the top-level statement holding ``line``."""
        return tuple(c for first, end, codes in self.spans if first <= line <= end for c in codes)


@frozen
class MigrationCode:
    """What MG107 compares of one file version."""

    bodies: dict[str, Body]
    module: ModuleCode


def read_code(data: bytes) -> MigrationCode | None:
    """The functions and the module-level code of a migration file; None when
    it cannot be read (MG001 says why)."""
    parsed = parse_migration(data)
    if parsed is None:
        return None
    module, lines, passes = parsed
    try:
        return MigrationCode(bodies_of(module, lines, passes), read_module_code(module, lines))
    except (RecursionError, MemoryError):  # deeper than ast's own walks go
        return None


def read_module_code(module: ast.Module, lines: list[str]) -> ModuleCode:
    """The module-level code of a parsed migration (``lines``: its
    ``source_lines``, empty when it has no ``mergeguard`` comment)."""
    imports: list[Imported] = []
    statements: list[ast.stmt] = []
    used = {n.id for n in ast.walk(module) if isinstance(n, ast.Name)}
    spans: list[tuple[int, int, tuple[str, ...]]] = []
    for node in without_docstring(module.body):
        if _left_out(node):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found = _imported(node)
            if not found:
                continue
            imports.extend(found)
        else:
            statements.extend(unannotated([_normalised(node)]))
        first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
        end = node.end_lineno or node.lineno
        spans.append((first, end, ignore_codes(lines, first, end) if lines else ()))
    keys = sorted({i.key for i in imports if _counts(i, used)})
    digest = hashlib.sha256(
        "\n".join((*keys, "--", *(ast.dump(s) for s in statements))).encode()
    ).hexdigest()
    return ModuleCode(digest, tuple(imports), frozenset(used), tuple(statements), tuple(spans))


def module_change(before: ModuleCode, after: ModuleCode) -> Change | None:
    """Where ``after``'s module-level code first differs from ``before``'s."""
    return next(module_changes(before, after), None)


def module_changes(before: ModuleCode, after: ModuleCode) -> Iterator[Change]:
    """Each place ``after``'s module-level code differs from ``before``'s:
    the statements in order, then the imports added, then those removed, of
    the names both versions use (a name only one uses is in code that changed)."""
    if before.digest == after.digest:
        return
    first_line = after.spans[0][0] if after.spans else 1
    yield from differences(before.statements, after.statements, first_line)
    used = before.used & after.used
    old = {i.key for i in before.imports if _counts(i, used)}
    new = {i.key for i in after.imports if _counts(i, used)}
    added = sorted(
        (i for i in after.imports if i.key not in old and _counts(i, used)), key=lambda i: i.line
    )
    for imported in added:
        yield Change(imported.line, f"adds `{imported.text}`")
    line = after.imports[0].line if after.imports else first_line
    for imported in (i for i in before.imports if i.key not in new and _counts(i, used)):
        yield Change(line, f"removes `{imported.text}`")


def _counts(imported: Imported, used: set[str] | frozenset[str]) -> bool:
    return imported.bound == "*" or imported.bound in used


def _left_out(node: ast.stmt) -> bool:
    if isinstance(node, ast.If) and not node.orelse and _is_type_checking(node.test):
        return True  # imports for annotations only: nothing runs at migration time
    if isinstance(node, ast.AnnAssign) and node.value is None:
        return True  # `NAME: int` binds nothing
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return node.name.startswith(FUNCTION_PREFIXES)
    if isinstance(node, ast.AnnAssign):
        return isinstance(node.target, ast.Name) and node.target.id in REVISION_NAMES
    if isinstance(node, ast.Assign):
        names = [n for t in node.targets for n in _target_names(t)]
        return bool(names) and all(n in REVISION_NAMES for n in names)
    return False


def _is_type_checking(test: ast.expr) -> bool:
    """``TYPE_CHECKING`` or ``typing.TYPE_CHECKING`` (any module's attribute of that name)."""
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _target_names(target: ast.expr) -> list[str]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for e in target.elts for n in _target_names(e)]
    return ["*"]  # an attribute, a subscript: never an identifier


def _imported(node: ast.Import | ast.ImportFrom) -> list[Imported]:
    if isinstance(node, ast.ImportFrom):
        source = "." * node.level + (node.module or "")
        if node.level == 0 and source in ANNOTATION_MODULES:
            return []
    elif all(a.name in ANNOTATION_MODULES for a in node.names):
        return []
    text = " ".join(ast.unparse(node).split())
    found = []
    for alias in node.names:
        name = alias.asname or (alias.name if isinstance(node, ast.ImportFrom) else "")
        bound = f" as {alias.asname}" if alias.asname else ""
        key = (
            f"from {source} import {alias.name}{bound}"
            if isinstance(node, ast.ImportFrom)
            else f"import {alias.name}{bound}"
        )
        found.append(Imported(key, node.lineno, text, name or alias.name.split(".")[0]))
    return found


def _normalised(node: ast.stmt) -> ast.stmt:
    """A copy without docstrings, ``pass`` or signature annotations of the
    functions and classes it defines (the statement itself when it has none
    of those to drop)."""
    walked = list(ast.walk(node))
    if not any(isinstance(n, (*_DEFINITIONS, ast.Pass)) for n in walked):
        return node
    node = copy.deepcopy(node)
    for inner in ast.walk(node):
        if isinstance(inner, _DEFINITIONS):
            inner.body = without_docstring(inner.body)
        if isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef)):
            inner.returns = None
            arguments = inner.args
            for argument in (
                *arguments.posonlyargs,
                *arguments.args,
                *arguments.kwonlyargs,
                *(a for a in (arguments.vararg, arguments.kwarg) if a is not None),
            ):
                argument.annotation = None
        for name in NESTED:
            block = getattr(inner, name, None)
            if isinstance(block, list) and any(isinstance(s, ast.Pass) for s in block):
                setattr(inner, name, without_pass(block))
    return node
