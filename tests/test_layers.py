"""The layers of docs/architecture.md, held on the source: imports run downward only,
and no module imports itself back through others (function-level imports included)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mergeguard"

# room -> layer; a module may import rooms of its own layer or below (never in a
# cycle: test_no_import_cycles), never a room above
LAYERS = {
    "model": 0,
    "errors": 0,
    "codes": 0,
    "dburls": 0,
    "git": 1,
    "config": 1,
    "parse": 1,
    "graph": 2,
    "rules": 3,
    "fix": 4,
    "scratchdb": 4,
    "databases": 4,
    "report": 4,
    "app": 5,
    "__main__": 6,
    "__init__": 0,  # mergeguard/__init__.py: the version
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def imports(path: Path) -> Iterator[tuple[str, int]]:
    """Every mergeguard module ``path`` imports, anywhere in the file, with its line."""
    package = module_name(path)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "mergeguard":
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if base.split(".")[0] != "mergeguard":
                continue
            for alias in node.names:  # `from mergeguard.x import y`: y may be a module
                candidate = f"{base}.{alias.name}"
                yield (candidate if candidate in MODULES else base), node.lineno


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def graph() -> dict[str, set[str]]:
    return {
        name: {target for target, _ in imports(path)} - {name} for name, path in MODULES.items()
    }


def test_every_room_has_a_layer() -> None:
    assert {room(m) for m in MODULES} <= LAYERS.keys()


def test_imports_run_downward() -> None:
    upward = [
        f"{name}:{line} imports {target}"
        for name, path in sorted(MODULES.items())
        for target, line in imports(path)
        if LAYERS[room(target)] > LAYERS[room(name)]
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    edges = graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if target not in MODULES:
                continue
            if state.get(target) == 1:
                cycles.append(stack[stack.index(target) :] + [target])
            elif target not in state:
                visit(target, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(edges):
        if name not in state:
            visit(name, [])
    assert cycles == []


# rooms of one layer that must not import each other (architecture.md, "Layers")
APART = {
    "databases": ("scratchdb", "report", "fix", "rules", "app"),
    "scratchdb": ("databases",),
}


def test_rooms_of_one_layer_stay_apart() -> None:
    crossing = [
        f"{name}:{line} imports {target}"
        for name, path in sorted(MODULES.items())
        for target, line in imports(path)
        if room(target) in APART.get(room(name), ())
    ]
    assert crossing == []


def test_the_layers_are_not_vacuous() -> None:
    """The walk sees real imports, function-level ones included."""
    edges = graph()
    assert "mergeguard.model" in edges["mergeguard.graph.revisions"]
    assert "mergeguard.codes" in edges["mergeguard.parse.header"]
    assert sum(len(targets) for targets in edges.values()) > 300
