"""From a module's facts to a ``MigrationScript`` (or the reason there is none).

Alembic reads four module attributes: ``revision`` (required), ``down_revision``
(required), ``branch_labels`` and ``depends_on`` (optional), each a string,
``None`` or a tuple/list of strings.  This module turns the statically read
values into exactly those facts, resolving imported constants through a
caller-supplied lookup, and reports every value it cannot read as a
diagnostic with file and line: never a silent skip, never a guess.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import PurePosixPath

from mergeguard import codes
from mergeguard.codes import diagnostic
from mergeguard.model import Diagnostic, Location, MigrationScript, Span, Spans, frozen
from mergeguard.parse.bounds import TOO_DEEP, TOO_LARGE
from mergeguard.parse.values import (
    HEADER_NAMES,
    Binding,
    Dyn,
    Expr,
    Lit,
    ModuleFacts,
    Ref,
    Seq,
    first_unresolved,
    substitute,
)

RefResolver = Callable[[Ref], Expr]

CONSTANTS_HINT = (
    "write a literal, or declare the value in pyproject.toml under "
    '[tool.mergeguard.constants] (e.g. "{name}" = "value")'
)

UNREADABLE_HINT = "fix the file so that Python 3 can parse it; Alembic fails on it too"
# Past a reader limit Python may still load the file: say what to change.
LIMIT_HINT = (
    "simplify the expression or split the migration: mergeguard reads files of at most "
    "1 MiB nested at most 200 levels (README, Rules)"
)

_REVISION_ID = re.compile(r"^[ \t]*Revision ID:[ \t]*(\S*)", re.MULTILINE)
# The rest of the line, stripped by the caller: a lazy ``(.*?)[ \t]*$`` is
# quadratic on a line of spaces.
_REVISES = re.compile(r"^[ \t]*Revises:([^\n]*)", re.MULTILINE)


@frozen
class ScriptRead:
    """A migration (None when the file cannot be placed in the graph) and the
    problems found reading it."""

    script: MigrationScript | None
    diagnostics: tuple[Diagnostic, ...]


def doc_message(docstring: str | None) -> str:
    """The message Alembic shows in ``alembic history``: the docstring's first
    paragraph (``Script.doc``)."""
    if not docstring:
        return ""
    return re.split("\n\n", docstring.strip())[0]


def doc_revises(docstring: str | None) -> tuple[str, ...] | None:
    """The ids of the docstring's ``Revises:`` line (None when it has none).

    Accepts Alembic's ``a, b`` and the ``('a', 'b')`` some hand-written files use.
    """
    match = _REVISES.search(docstring or "")
    if match is None:
        return None
    text = match.group(1).strip().strip("()[]")
    return tuple(part.strip().strip("'\"") for part in text.split(",") if part.strip(" '\""))


def doc_revision_id(docstring: str | None) -> str | None:
    match = _REVISION_ID.search(docstring or "")
    return match.group(1) if match else None


def read_script(
    facts: ModuleFacts,
    path: PurePosixPath,
    blob: str = "",
    resolve_ref: RefResolver | None = None,
) -> ScriptRead:
    """Turn ``facts`` of the file at ``path`` into a MigrationScript."""
    reading = _Reading(facts, path, resolve_ref or _unresolvable)
    return reading.run(blob)


def _unresolvable(ref: Ref) -> Expr:
    return Dyn(f"the name {ref.spelled}, imported from another module")


class _Reading:
    """One file's header being read; collects diagnostics as it goes."""

    def __init__(self, facts: ModuleFacts, path: PurePosixPath, resolve_ref: RefResolver):
        self.facts = facts
        self.path = path
        self.resolve_ref = resolve_ref
        self.problems: list[Diagnostic] = []
        self.complete = True

    def at(self, span: Span | None) -> Location:
        span = span or Span(1)
        return Location(self.path, span.line, span.column)

    def run(self, blob: str) -> ScriptRead:
        facts = self.facts
        revision = facts.binding("revision")
        if facts.error is not None and revision is None:
            return self.unreadable(facts.error, facts.error_span)
        if revision is None:
            return self.not_a_migration()
        rev_id = self.revision_id(revision.value, revision.span)
        if rev_id is None:
            if facts.error is not None:
                return self.unreadable(facts.error, facts.error_span)
            return ScriptRead(None, tuple(self.problems))
        script = MigrationScript(
            path=self.path,
            revision=rev_id,
            down_revisions=self.down_revisions(),
            branch_labels=self.string_tuple("branch_labels"),
            depends_on=self.string_tuple("depends_on"),
            message=doc_message(facts.docstring),
            spans=self.spans(),
            doc_revision_id=doc_revision_id(facts.docstring),
            doc_revises=doc_revises(facts.docstring),
            ignores=facts.ignores,
            complete=self.complete,
            blob=blob,
        )
        if facts.error is not None:
            self.problems.insert(0, self.recovered(script, facts.error, facts.error_span))
        return ScriptRead(script, tuple(self.problems))

    def unreadable(self, message: str, span: Span | None) -> ScriptRead:
        problem = diagnostic(
            codes.MG001,
            f"{self.path} cannot be read: {message}",
            self.at(span),
            hint=_unreadable_hint(message),
        )
        return ScriptRead(None, (problem,))

    def recovered(self, script: MigrationScript, message: str, span: Span | None) -> Diagnostic:
        """MG001 for a file whose header was read from its tokens: still an
        error (Alembic cannot load it), but the graph keeps the revision."""
        down = _describe_ids(script.down_revisions)
        return diagnostic(
            codes.MG001,
            f"{self.path} cannot be read: {message}; its header was recovered "
            f"(revision {script.revision!r}, down_revision {down}), so the graph stays whole",
            self.at(span),
            hint=_unreadable_hint(message),
            revisions=(script.revision,),
        )

    def not_a_migration(self) -> ScriptRead:
        present = [n for n in HEADER_NAMES if self.facts.binding(n) is not None]
        why = (
            "it is empty"
            if not self.facts.bindings and self.facts.docstring is None
            else "it has no module-level `revision` variable"
        )
        extra = f" (it sets {', '.join(present)})" if present else ""
        problem = diagnostic(
            codes.MG001,
            f"{self.path} is in a versions directory but is not a migration: {why}{extra}; "
            'Alembic stops with "Could not determine revision id from filename"',
            self.at(None),
            hint="move helper modules out of the versions directory, or add "
            "`revision = '<id>'` and `down_revision = ...`",
        )
        return ScriptRead(None, (problem,))

    def resolved(self, name: str) -> tuple[Expr | None, Span | None]:
        binding = self.facts.binding(name)
        if binding is None:
            return None, None
        return substitute(binding.value, self.resolve_ref), binding.span

    def dynamic(self, name: str, value: Expr, span: Span | None) -> None:
        culprit = first_unresolved(value)
        what = culprit.what if isinstance(culprit, Dyn) else "a value that is not a literal"
        binding = self.facts.binding(name)
        ref = first_ref(binding.value) if binding else None
        spelled = ref.spelled if ref else name
        self.complete = False
        self.problems.append(
            diagnostic(
                codes.MG002,
                f"{name} in {self.path} is {what}: mergeguard reads migrations without "
                "running them, so it cannot know this value",
                self.at(span),
                hint=CONSTANTS_HINT.format(name=spelled),
            )
        )

    def revision_id(self, value: Expr, span: Span) -> str | None:
        value = substitute(value, self.resolve_ref)
        if isinstance(value, Lit) and isinstance(value.value, str):
            return value.value
        if first_unresolved(value) is not None:
            self.dynamic("revision", value, span)
            return None
        self.problems.append(
            diagnostic(
                codes.MG007,
                f"revision in {self.path} must be a string, not {_describe(value)}",
                self.at(span),
                hint="set `revision = '<12 hex digits>'` as `alembic revision` writes it",
            )
        )
        return None

    def down_revisions(self) -> tuple[str, ...]:
        value, span = self.resolved("down_revision")
        if value is None:
            self.complete = False
            self.problems.append(
                diagnostic(
                    codes.MG001,
                    f"{self.path} has no `down_revision` variable (Alembic fails to load it)",
                    self.at(_span_of(self.facts.binding("revision"))),
                    hint="add `down_revision = None` for a base, or the parent revision id",
                )
            )
            return ()
        if isinstance(value, Lit) and value.value == "":
            self.problems.append(
                diagnostic(
                    codes.MG007,
                    f"down_revision in {self.path} is an empty string: read as a base",
                    self.at(span),
                    severity="warning",
                    hint="write `down_revision = None` for a base revision",
                )
            )
            return ()
        ids = self.strings("down_revision", value, span)
        return tuple(dict.fromkeys(ids))

    def string_tuple(self, name: str) -> tuple[str, ...]:
        value, span = self.resolved(name)
        return () if value is None else self.strings(name, value, span)

    def strings(self, name: str, value: Expr, span: Span | None) -> tuple[str, ...]:
        """Alembic's ``util.to_tuple``: a string, None, or a sequence of strings."""
        if isinstance(value, Lit):
            return () if value.value is None else (value.value,)
        if isinstance(value, Seq) and all(
            isinstance(i, Lit) and isinstance(i.value, str) and i.value for i in value.items
        ):
            return tuple(i.value for i in value.items if isinstance(i, Lit) and i.value)
        if first_unresolved(value) is None:
            self.complete = False
            self.problems.append(
                diagnostic(
                    codes.MG002,
                    f"{name} in {self.path} holds {_describe(value)}; Alembic expects a "
                    "string, None, or a tuple of non-empty strings",
                    self.at(span),
                    hint=f"write {name} as a string or a tuple of revision ids",
                )
            )
            return ()
        self.dynamic(name, value, span)
        return ()

    def spans(self) -> Spans:
        def span(name: str) -> Span | None:
            binding = self.facts.binding(name)
            return binding.span if binding else None

        doc, doc_span = self.facts.docstring, self.facts.docstring_span
        return Spans(
            revision=span("revision"),
            down_revision=span("down_revision"),
            branch_labels=span("branch_labels"),
            depends_on=span("depends_on"),
            docstring=doc_span,
            doc_revision_id=_doc_field_span(doc, doc_span, _REVISION_ID),
            doc_revises=_doc_field_span(doc, doc_span, _REVISES),
        )


def _unreadable_hint(message: str) -> str:
    past_limit = message.startswith(TOO_DEEP) or message.startswith(TOO_LARGE)
    return LIMIT_HINT if past_limit else UNREADABLE_HINT


def _doc_field_span(doc: str | None, start: Span | None, field: re.Pattern[str]) -> Span | None:
    """The line of a ``Revision ID:`` / ``Revises:`` line inside the docstring."""
    match = field.search(doc or "")
    if match is None or start is None or doc is None:
        return None
    return Span(start.line + doc[: match.start()].count("\n"), 1)


def _span_of(binding: Binding | None) -> Span | None:
    return binding.span if binding else None


def is_self_contained(facts: ModuleFacts) -> bool:
    """True when no header value refers to another module: the script then
    depends on its own bytes only, and its row can be cached by blob id."""
    return all(
        first_ref(binding.value) is None
        for binding in facts.bindings
        if binding.name in HEADER_NAMES
    )


def first_ref(value: Expr) -> Ref | None:
    """The first imported name in ``value``: the key a user would declare."""
    if isinstance(value, Ref):
        return value
    for part in value.items if isinstance(value, Seq) else getattr(value, "parts", ()):
        found = first_ref(part)
        if found:
            return found
    return None


def _describe_ids(ids: tuple[str, ...]) -> str:
    """``down_revision`` as it would be written: None, 'a', or ('a', 'b')."""
    if not ids:
        return "None"
    return repr(ids[0]) if len(ids) == 1 else "(" + ", ".join(map(repr, ids)) + ")"


def _describe(value: Expr) -> str:
    if isinstance(value, Lit):
        return "None" if value.value is None else repr(value.value)
    if isinstance(value, Seq):
        return "a sequence with an empty or non-string item" if value.items else "an empty tuple"
    return "a value that is not a literal"
