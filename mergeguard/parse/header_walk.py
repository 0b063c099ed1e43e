"""What both header parsers share: the module-level walk.

A front end (``header_ast`` or ``header_cst``) turns each top-level statement into
neutral events; ``walk`` replays them the way Python would execute the module
top to bottom, keeping the latest static value of every name, so that
``PREV = "abc"; down_revision = PREV`` reads as ``"abc"`` and an imported name
becomes a ``Ref`` to resolve later.  No code from the file is ever run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from mergeguard.model import Span, frozen
from mergeguard.parse.values import Binding, Dyn, Expr, ModuleFacts, Ref, bounded


@frozen
class ImportEvent:
    """``import a.b as c`` / ``from a import b``: alias -> dotted target."""

    aliases: tuple[tuple[str, str], ...]


@frozen
class AssignEvent:
    """``names = value``; ``value`` is a front-end node converted during the walk."""

    names: tuple[str, ...]
    value: object
    span: Span
    end_line: int


@frozen
class OpaqueEvent:
    """Names bound in a way mergeguard does not follow (``if`` blocks, ``+=``,
    ``def``, unpacking); ``what`` says how, for the MG002 message."""

    names: tuple[str, ...]
    what: str
    span: Span


@frozen
class DeleteEvent:
    names: tuple[str, ...]


Event = ImportEvent | AssignEvent | OpaqueEvent | DeleteEvent
NameResolver = Callable[[str], Expr]
Converter = Callable[[object, NameResolver], Expr]

# ``[^][]`` (not ``[^]]``): a line repeating ``# mergeguard: ignore[`` without
# a closing bracket must fail each attempt at the next ``[``, not at the end of
# the line, or the search is quadratic.
_IGNORE_COMMENT = re.compile(r"#\s*mergeguard:\s*ignore\[([^\]\[]*)\]")


def walk(events: Iterable[Event], convert: Converter) -> dict[str, Binding]:
    """Replay module-level events; return the final binding of every name."""
    bindings: dict[str, Binding] = {}
    imports: dict[str, str] = {}

    def resolve(dotted: str) -> Expr:
        head, _, rest = dotted.partition(".")
        if head in bindings and not rest:
            return bindings[head].value
        if head in imports:
            target = imports[head] + ("." + rest if rest else "")
            return Ref(target, dotted)
        return Dyn(f"the name {dotted}")

    for event in events:
        if isinstance(event, ImportEvent):
            for alias, target in event.aliases:
                imports[alias] = target
                bindings.pop(alias, None)
        elif isinstance(event, AssignEvent):
            value = bounded(convert(event.value, resolve))
            for name in event.names:
                bindings[name] = Binding(name, value, event.span)
                imports.pop(name, None)
        elif isinstance(event, OpaqueEvent):
            for name in event.names:
                bindings[name] = Binding(name, Dyn(event.what), event.span)
                imports.pop(name, None)
        else:
            for name in event.names:
                bindings.pop(name, None)
                imports.pop(name, None)
    return bindings


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def source_lines(text: str) -> list[str]:
    """The lines of ``text`` as ``ast`` and the tokenizer number them: broken
    at ``\\n``, ``\\r\\n`` and ``\\r`` only (``str.splitlines`` also breaks at
    form feeds, ``\\x1c``-``\\x1e``, ``\\x85``, ``\\u2028``, ``\\u2029``)."""
    return _LINE_BREAK.split(text)


def ignore_codes(lines: list[str], start: int, end: int) -> tuple[str, ...]:
    """Codes named by ``# mergeguard: ignore[...]`` comments on lines start..end."""
    codes: list[str] = []
    for line in lines[start - 1 : end]:
        for match in _IGNORE_COMMENT.finditer(line):
            codes.extend(c.strip() for c in match.group(1).split(",") if c.strip())
    return tuple(codes)


def assemble(
    text: str,
    events: list[Event],
    convert: Converter,
    docstring: tuple[str, Span] | None,
    lines: list[str] | None = None,
) -> ModuleFacts:
    """ModuleFacts from a front end's events: bindings in name order, ignores
    from the comment on the ``down_revision`` statement (``lines``: the
    text's ``source_lines``, when the caller has them)."""
    bindings = walk(events, convert)
    ignores: tuple[str, ...] = ()
    last = [e for e in events if isinstance(e, AssignEvent) and "down_revision" in e.names]
    if last and "mergeguard" in text:  # no comment, no codes: skip the scan
        if lines is None:
            lines = source_lines(text)
        ignores = ignore_codes(lines, last[-1].span.line, last[-1].end_line)
    return ModuleFacts(
        docstring=docstring[0] if docstring else None,
        docstring_span=docstring[1] if docstring else None,
        bindings=tuple(sorted(bindings.values(), key=lambda b: b.name)),
        ignores=ignores,
    )


def char_column(line: str, byte_offset: int) -> int:
    """1-based character column of a UTF-8 byte offset into ``line``."""
    if line.isascii():
        return byte_offset + 1
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + 1


def token_span(lines: list[str], line: int, column: int) -> Span:
    """The span of the first token at or after (line, column): libcst starts a
    statement that follows a bare ``\\`` continuation on the backslash's
    line, ``ast`` on the token's; both readers report the token's."""
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    if "\\" not in text:
        return Span(line, column)
    while text[column - 1 :].strip() == "\\" and line < len(lines):
        line += 1
        text = lines[line - 1]
        column = len(text) - len(text.lstrip()) + 1
    return Span(line, column)


def relative_target(level: int, module: str | None, name: str) -> str:
    """The dotted target of ``from <dots><module> import name``."""
    prefix = "." * level + (module or "")
    if not prefix:
        return name
    return prefix + name if prefix.endswith(".") else f"{prefix}.{name}"
