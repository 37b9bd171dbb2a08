"""The shape of the code: no import cycle, small modules and functions, layers kept apart.

Read from the source with :mod:`ast`, imports inside functions included, so that a
cycle hidden behind a function-level import fails here rather than at run time.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("geoapp", "layers", "pages")
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _modules() -> dict[str, Path]:
    return {
        _module_name(p): p
        for package in PACKAGES
        for p in sorted((REPO / package).rglob("*.py"))
        if "__pycache__" not in p.parts
    }


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The known module ``name`` is, or is in (``geoapp.x.f`` -> ``geoapp.x``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


@cache
def _imports(module: str) -> frozenset[str]:
    """The project modules ``module`` imports anywhere in its body (TYPE_CHECKING aside)."""
    known = _modules()
    path = known[module]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    typing_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            typing_only |= {id(n) for child in node.body for n in ast.walk(child)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` depends on pkg.mod (a package's own __init__ always
            # runs first and is no edge); ``from mod import name`` depends on mod
            names = [
                f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
            ]
        else:
            continue
        for name in names:
            target = _resolve(name, known)
            if target and target != module:
                found.add(target)
    return frozenset(found)


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in _imports(v):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for module in _modules():
        if module not in index:
            visit(module)
    return out


def test_the_import_graph_sees_function_level_imports():
    # a check that cannot fail is no check: the walker must see what it claims to
    assert "geoapp.schema" in _imports("geoapp.datasource")
    assert any(m.startswith("geoapp") for m in _imports("geoapp.cli"))


def test_no_import_cycle():
    assert _cycles() == []


def test_schema_imports_nothing_from_geoapp():
    assert _imports("geoapp.schema") == frozenset()


def test_only_the_command_line_imports_the_demo_generator():
    def demo(m: str) -> bool:
        return m == "geoapp.demo" or m.startswith("geoapp.demo.")

    importers = {m for m in _modules() if not demo(m) and any(demo(i) for i in _imports(m))}
    assert importers <= {m for m in _modules() if m.startswith("geoapp.cli")}
    assert importers  # the CLI's `geoapp data demo` is seen


@pytest.mark.parametrize("module", [m for m in _modules() if m.startswith(("geoapp", "layers"))])
def test_the_core_never_imports_streamlit(module):
    source = _modules()[module].read_text(encoding="utf-8")
    tree = ast.parse(source)
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {n for n in names if n == "streamlit" or n.startswith("streamlit.")}


def _too_long() -> list[str]:
    found = []
    for module, path in _modules().items():
        source = path.read_text(encoding="utf-8")
        lines = source.count("\n")
        if lines > MAX_MODULE_LINES:
            found.append(f"{module}: {lines} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(f"{module}.{node.name} (line {node.lineno}): {length} lines")
    return found


def test_modules_and_functions_stay_small():
    assert _too_long() == []


@pytest.mark.parametrize(
    "package", [m for m, p in _modules().items() if p.name == "__init__.py" and m != "pages"]
)
def test_every_package_says_what_it_owns(package):
    docstring = ast.get_docstring(ast.parse(_modules()[package].read_text(encoding="utf-8")))
    assert docstring and len(docstring) > 80, f"{package} needs a docstring saying what it owns"
