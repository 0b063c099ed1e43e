"""One boundary per foreign library (docs/architecture.md, "Layers"), checked on the source."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mergeguard"

# library -> the modules (paths relative to mergeguard/) allowed to import it
ALLOWED = {
    "git": (),  # GitPython: nowhere (git is driven as an executable, git/plumbing.py)
    "click": (),  # nowhere: the command line is argparse (start-up cost, issue 12)
    "argparse": ("app/cli",),  # app/cli.py and its cli_*.py helpers
    "rich": ("app/cli", "report/"),
    "libcst": ("parse/", "fix/"),
    "alembic": ("scratchdb",),
    "sqlalchemy": ("scratchdb", "databases/reading.py"),
    "sqlglot": ("parse/sql",),
    "mako": ("fix/merge_file.py",),
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(PACKAGE).as_posix(), p) for p in sorted(PACKAGE.rglob("*.py"))]


def test_foreign_libraries_stay_behind_their_boundary() -> None:
    violations = [
        f"{name} imports {library}"
        for name, path in modules()
        for library in imported_roots(path) & ALLOWED.keys()
        if not name.startswith(ALLOWED[library])
    ]
    assert violations == []


def test_model_imports_nothing_from_mergeguard() -> None:
    assert "mergeguard" not in imported_roots(PACKAGE / "model.py")


def test_the_table_is_not_vacuous() -> None:
    """Each boundary that exists today is actually used where it is allowed."""
    used = {lib for _, path in modules() for lib in imported_roots(path)}
    assert {"argparse", "rich", "libcst"} <= used
