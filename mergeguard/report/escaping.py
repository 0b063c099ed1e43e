"""Repository values made safe for a terminal or a CI log.

A revision id, branch label, message or file name comes from a pull request.
Printed raw, a newline followed by ``::error::`` becomes a GitHub workflow
command, and ESC or BEL drive the terminal.  ``printable`` shows every
character that does not print as itself (control characters, bidirectional
overrides, line separators) as a Python-style escape, so the line reads as
one line and says what is really there.
"""

from __future__ import annotations


def escape_char(char: str) -> str:
    """One unprintable character as ``\\n``, ``\\x1b`` or ``\\u202e`` (as Python writes it)."""
    return repr(char)[1:-1]


def printable(text: str) -> str:
    """``text`` with every unprintable character escaped (``str.isprintable``)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else escape_char(c) for c in text)


def printable_lines(text: str) -> str:
    """Like ``printable``, but the line breaks of a multi-line text kept
    (for text mergeguard itself laid out in lines)."""
    return "\n".join(printable(line) for line in text.split("\n"))


def first_line(message: str | None) -> str:
    """A revision message's first line, stripped and printable (what a tree
    row or a graph node shows)."""
    lines = (message or "").strip().splitlines()
    return printable(lines[0].strip()) if lines else ""
