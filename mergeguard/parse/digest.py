"""A fingerprint of what ``upgrade()`` runs, read with the standard ``ast``.

Two migrations whose ``upgrade*()`` bodies have the same syntax tree (once
docstrings, comments, blank lines and quoting are normalised away) run the
same code.  The file is parsed, never imported or executed.
"""

from __future__ import annotations

import ast
import hashlib

from mergeguard.parse.source import UnreadableSource, decode


def upgrade_digest(data: bytes) -> str:
    """sha256 of the normalised ``upgrade*()`` bodies, ``""`` when the file
    does not parse or defines no upgrade function."""
    try:
        module = ast.parse(decode(data))
        bodies = [
            ast.dump(ast.Module(body=without_docstring(node.body), type_ignores=[]))
            for node in module.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and (node.name == "upgrade" or node.name.startswith("upgrade_"))
        ]
    except (UnreadableSource, SyntaxError, ValueError):
        return ""
    except (RecursionError, MemoryError):  # nested deeper than the parser or ast.dump goes
        return ""
    if not bodies:
        return ""
    return hashlib.sha256("\n".join(bodies).encode()).hexdigest()


def without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    """``body`` without its docstring (a first statement that is a string)."""
    first = body[0] if body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return body[1:]
    return body
