"""The ``down_revision`` assignment ``fix --rebase`` edits: the one the reader read.

There is one binding analysis, the reader's (``mergeguard.parse``): the
statement to edit is the one at the span it recorded for ``down_revision``,
so the codemod can never edit a line ``check`` did not read.  What is left
here is refusing: when the statement at that span is not a plain
``down_revision = value`` (an ``if`` block, an unpacking, ``+=`` ...), and
when a later module-level statement rebinds the name in a way the reader does
not follow (``with ... as down_revision``, ``:=``, ``del``, an import), since
Alembic would then see another value than the one the edit writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from mergeguard.model import Span
from mergeguard.parse.header_cst import Positions

NAME = "down_revision"

_COMPOUND: dict[type[cst.CSTNode], str] = {
    cst.If: "an if block",
    cst.Try: "a try block",
    cst.TryStar: "a try block",
    cst.For: "a for loop",
    cst.While: "a while loop",
    cst.With: "a with block",
    cst.Match: "a match statement",
    cst.FunctionDef: "a function definition",
    cst.ClassDef: "a class definition",
}

NO_ASSIGNMENT = f"this file has no module-level {NAME} assignment to rewrite"


class TargetError(ValueError):
    """No assignment can be edited safely; the message says why."""


def assignment_at(module: cst.Module, text: str, span: Span | None) -> cst.Assign | cst.AnnAssign:
    """The plain assignment of ``down_revision`` starting at ``span`` (where
    the reader found the binding Python ends up with; None: it found none).
    Raises TargetError when there is none there, or when a later statement
    rebinds the name."""
    statements = list(_statements(module))
    if span is None:
        # The reader found no binding: name the statement that unbinds it, if any.
        _refuse_rebinding(statements)
        raise TargetError(NO_ASSIGNMENT)
    positions = _positions(module, text)
    for index, statement in enumerate(statements):
        if _starts_at(statement, span, positions):
            found = _binding_of(statement)
            _refuse_rebinding(statements[index + 1 :])
            return found
    raise TargetError(
        f"this file has no {NAME} assignment at line {span.line}, column {span.column}, "
        "where mergeguard read it; run mergeguard again"
    )


def _statements(module: cst.Module) -> Iterator[cst.CSTNode]:
    """Module-level small statements (each of ``a = 1; b = 2``) and compound
    statements, in source order."""
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            yield from statement.body
        else:
            yield statement


def _positions(module: cst.Module, text: str) -> Positions:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)  # keeps node identity
    try:
        ranges = dict(wrapper.resolve(PositionProvider))
    except RecursionError as exc:
        raise TargetError("this file is nested too deeply to rewrite; rewrite it by hand") from exc
    return Positions(ranges, text.splitlines())


def _starts_at(statement: cst.CSTNode, span: Span, positions: Positions) -> bool:
    """Whether the reader's span names ``statement``: a small statement by
    its first token, as the reader records it; a compound statement (whose
    span the readers give as its line, or its name's line for a decorated
    ``def``) by the lines it covers."""
    if isinstance(statement, cst.BaseSmallStatement):
        return positions.start(statement) == span
    where = positions[statement]
    return where.start.line <= span.line <= where.end.line and span.column == 1


def _binding_of(statement: cst.CSTNode) -> cst.Assign | cst.AnnAssign:
    if isinstance(statement, cst.BaseSmallStatement):
        found = _small_binding(statement)
        if isinstance(found, (cst.Assign, cst.AnnAssign)):
            return found
        if found is not None:
            raise TargetError(found)
    else:  # the reader does not follow values assigned in compound statements
        raise TargetError(_compound_refusal(statement))
    raise TargetError(
        f"the statement where mergeguard read {NAME} does not assign it; run mergeguard again"
    )


def _refuse_rebinding(later: Iterable[cst.CSTNode]) -> None:
    """Refuse, naming the last of ``later`` that binds down_revision."""
    message = None
    for statement in later:
        if isinstance(statement, cst.BaseSmallStatement):
            found = _small_binding(statement)
            if found is not None:
                message = found if isinstance(found, str) else _REASSIGNED
        elif _binds(statement):
            message = _compound_refusal(statement)
    if message is not None:
        raise TargetError(message)


_REASSIGNED = f"{NAME} in this file is assigned again further down; rewrite it by hand"


def _compound_refusal(statement: cst.CSTNode) -> str:
    what = _COMPOUND.get(type(statement), "a compound statement")
    return f"{NAME} in this file is assigned inside {what}; rewrite it by hand"


def _small_binding(small: cst.BaseSmallStatement) -> cst.Assign | cst.AnnAssign | str | None:
    """The assignment ``small`` makes to down_revision, the refusal message
    when it binds the name some other way, or None when it does not bind it."""
    if isinstance(small, cst.AnnAssign) and _is_name(small.target) and small.value is not None:
        return small
    if isinstance(small, cst.Assign) and any(_is_name(t.target) for t in small.targets):
        if len(small.targets) == 1 and not _binds(small.value):
            return small
        return f"{NAME} in this file is assigned together with other names; rewrite it by hand"
    if _binds(small):
        return f"{NAME} in this file is bound by {_describe(small)}; rewrite it by hand"
    return None


def _describe(small: cst.BaseSmallStatement) -> str:
    if isinstance(small, cst.AugAssign):
        return "an augmented assignment"
    if isinstance(small, (cst.Import, cst.ImportFrom)):
        return "an import"
    if isinstance(small, cst.Del):
        return "a del statement"
    if isinstance(small, cst.Assign):
        return "an unpacking assignment"
    return "an assignment expression"


def _is_name(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == NAME


def _binds(node: cst.CSTNode) -> bool:
    """Whether ``node`` binds down_revision in the module's namespace."""
    finder = _BindingFinder()
    node.visit(finder)
    return finder.found


class _BindingFinder(cst.CSTVisitor):
    """Finds module-namespace bindings of down_revision (not entering the
    bodies of functions, classes and lambdas, which have their own scope)."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def _check(self, targets: Iterable[cst.CSTNode | None]) -> None:
        self.found = self.found or any(
            _is_name(n) for t in targets if t is not None for n in _target_names(t)
        )

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._check([node.name])
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._check([node.name])
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        self._check([node.target])

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._check([node.target])

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._check([node.target])

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        self._check([node.target])

    def visit_For(self, node: cst.For) -> None:
        self._check([node.target])

    def visit_AsName(self, node: cst.AsName) -> None:
        self._check([node.name])

    def visit_ImportAlias(self, node: cst.ImportAlias) -> None:
        if node.asname is None:  # ``import a.b`` binds ``a``
            head: cst.BaseExpression = node.name
            while isinstance(head, cst.Attribute):
                head = head.value
            self._check([head])

    def visit_Del(self, node: cst.Del) -> None:
        self._check([node.target])

    def visit_MatchAs(self, node: cst.MatchAs) -> None:
        self._check([node.name])

    def visit_MatchStar(self, node: cst.MatchStar) -> None:
        self._check([node.name])

    def visit_MatchMapping(self, node: cst.MatchMapping) -> None:
        self._check([node.rest])


def _target_names(target: cst.CSTNode) -> Iterator[cst.CSTNode]:
    if isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            yield from _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)
    else:
        yield target
