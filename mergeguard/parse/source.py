"""Bytes to source text, as Python would decode them, and the error for
bytes that are not Python source a reader can parse."""

from __future__ import annotations

import codecs
import io
import tokenize

from mergeguard.model import Span


class UnreadableSource(Exception):
    """The bytes are not Python source a reader can parse; ``span`` says where."""

    def __init__(self, message: str, span: Span | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span


def decode(data: bytes) -> str:
    """The text of ``data`` per PEP 263 (coding cookie, BOM, else UTF-8).

    Raises UnreadableSource for binary or undecodable bytes, naming the line.
    """
    if b"\0" in data:
        offset = data.index(b"\0")
        return _raise(
            f"binary file (NUL byte at offset {offset})", Span(data[:offset].count(b"\n") + 1)
        )
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        codec = codecs.lookup(encoding)
    except (SyntaxError, LookupError) as exc:
        return _raise(f"bad coding declaration: {exc}", Span(1))
    # Python refuses bytes-to-bytes codecs (rot13, hex, zlib, base64, uu) in a
    # coding cookie; decoding with them would not even give text.
    if not getattr(codec, "_is_text_encoding", True):
        return _raise(
            f"bad coding declaration: {encoding!r} is not a text encoding", _cookie_span(data)
        )
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return _raise(f"bytes that are not valid {encoding} ({exc.reason})", Span(line))
    except UnicodeError as exc:  # codecs such as punycode raise the base class
        return _raise(f"bytes that cannot be decoded as {encoding} ({exc})", _cookie_span(data))


def _cookie_span(data: bytes) -> Span:
    """The line of the coding cookie (PEP 263 allows line 1 or 2)."""
    first = data.split(b"\n", 1)[0]
    return Span(1 if b"coding" in first else 2)


def _raise(message: str, span: Span | None) -> str:
    raise UnreadableSource(message, span)


def syntax_message(exc: SyntaxError) -> str:
    """A one-line description of a SyntaxError, spotting Python 2 files."""
    text = f"syntax error: {exc.msg}"
    if "print" in exc.msg or "Missing parentheses" in exc.msg or "exec" in exc.msg:
        text += " (Python 2 syntax? Alembic runs migrations under Python 3)"
    return text
