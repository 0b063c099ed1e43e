"""The worker's room: only ``scratchdb/worker/`` runs project code (checked on the source).

- alembic is imported in ``scratchdb/worker/`` and nowhere else in mergeguard;
- sqlalchemy in ``scratchdb/worker/`` and the parent's server-admin modules
  ``ADMIN`` (and nowhere else);
- the parent never imports the worker's modules, and the worker imports
  nothing of mergeguard but itself and ``scratchdb/protocol/``;
- ``protocol/`` (read by both) imports neither library nor any other module
  of mergeguard.

Function-level and ``TYPE_CHECKING`` imports count: every import statement does.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mergeguard"
WORKER = "scratchdb/worker/"
PROTOCOL = "scratchdb/protocol/"
# the parent modules that administer database servers (create, drop, logins, URLs)
ADMIN = (
    "scratchdb/database.py",
    "scratchdb/servers.py",
    "scratchdb/logins.py",
    "scratchdb/sqlite_file.py",
    "scratchdb/urls.py",
)
# the deployed databases' reader (read only, never migrating): databases/
DEPLOYED_READER = ("databases/reading.py",)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, absolute (relative imports resolved)."""
    package = ["mergeguard", *path.relative_to(PACKAGE).parent.parts]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def modules() -> list[tuple[str, set[str]]]:
    return [(p.relative_to(PACKAGE).as_posix(), imports(p)) for p in sorted(PACKAGE.rglob("*.py"))]


def under(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_alembic_and_sqlalchemy_stay_in_the_worker_and_the_admin_modules() -> None:
    violations = [
        f"{name} imports {module}"
        for name, found in modules()
        if not name.startswith(WORKER)
        for module in sorted(found)
        if under(module, "alembic")
        or (under(module, "sqlalchemy") and name not in ADMIN + DEPLOYED_READER)
    ]
    assert violations == []


def test_the_parent_never_imports_the_worker() -> None:
    violations = [
        f"{name} imports {module}"
        for name, found in modules()
        if not name.startswith(WORKER)
        for module in sorted(found)
        if under(module, "mergeguard.scratchdb.worker")
    ]
    assert violations == []


def test_the_worker_imports_only_itself_and_the_protocol() -> None:
    allowed = ("mergeguard.scratchdb.worker", "mergeguard.scratchdb.protocol")
    violations = [
        f"{name} imports {module}"
        for name, found in modules()
        if name.startswith(WORKER)
        for module in sorted(found)
        if under(module, "mergeguard")
        and not any(under(module, a) for a in allowed)
        and module != "mergeguard.scratchdb"  # the package itself, only as a parent of these
    ]
    assert violations == []


def test_the_protocol_is_pure() -> None:
    violations = [
        f"{name} imports {module}"
        for name, found in modules()
        if name.startswith(PROTOCOL)
        for module in sorted(found)
        if under(module, "alembic")
        or under(module, "sqlalchemy")
        or (under(module, "mergeguard") and not under(module, "mergeguard.scratchdb.protocol"))
    ]
    assert violations == []


def test_the_rules_are_not_vacuous() -> None:
    """The worker does import both libraries and the protocol; the admin modules exist."""
    worker = set().union(*(found for name, found in modules() if name.startswith(WORKER)))
    assert {"alembic", "sqlalchemy"} <= {m.split(".")[0] for m in worker}
    assert any(under(m, "mergeguard.scratchdb.protocol") for m in worker)
    assert all((PACKAGE / name).is_file() for name in ADMIN)
    assert (PACKAGE / WORKER / "__main__.py").is_file()
