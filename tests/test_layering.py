"""The package's structure: its folders are layers, each importing only from itself and the layers
below it (counting imports inside functions too: a function-local import must not hide a climb or a
cycle); ``core`` imports nothing of artlib above it; ``repro`` is the only place that imports
matplotlib or papermill; no function outside the tests is longer than 60 lines."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "artlib"
#: The layers, bottom first.
LAYERS = ["core", "models", "art", "methods", "eval", "export", "repro", "cli"]
#: Modules outside the layers: the package's own ``__init__`` (version, the error type) and
#: ``__main__`` (calls the cli).
ROOT_MODULES = {"artlib", "artlib.__main__"}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports(path: Path, name: str) -> set[str]:
    """The artlib modules (or packages) a module imports anywhere in its source, absolute names."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == "artlib" or target.startswith("artlib."):
                # `from . import x` imports the submodule x where one exists
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in modules()]
                out.update(subs or [target])
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name == "artlib" or a.name.startswith("artlib."))
    return {t for t in out if t != name}


def layer(name: str) -> str | None:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def graph() -> dict[str, set[str]]:
    return {name: imports(path, name) for name, path in modules().items()}


def find_cycle(g):
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for d in sorted(g.get(n, ())):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        state[n] = "done"
        stack.pop()
        return None
    for n in sorted(g):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_every_module_lives_in_a_layer():
    stray = [m for m in modules() if m not in ROOT_MODULES and layer(m) is None]
    assert not stray, f"modules outside the layers {LAYERS}: {stray}"


def test_imports_point_down_or_sideways_within_a_layer():
    climbs = []
    for name, deps in graph().items():
        if name in ROOT_MODULES:
            continue
        here = LAYERS.index(layer(name))
        for d in deps:
            there = layer(d)
            if there is None and d not in ROOT_MODULES:
                continue
            if there is None or LAYERS.index(there) > here:
                climbs.append(f"{name} -> {d}")
    assert not climbs, climbs


def test_core_imports_nothing_above_it():
    above = [f"{n} -> {d}" for n, deps in graph().items() if layer(n) == "core" for d in deps if layer(d) != "core"]
    assert not above, above


def test_no_import_cycle():
    g = {n: {d for d in deps if d in modules() and d not in ROOT_MODULES} for n, deps in graph().items()
         if n not in ROOT_MODULES}
    cycle = find_cycle(g)
    assert cycle is None, " -> ".join(cycle)


@pytest.mark.parametrize("package", ["matplotlib", "papermill"])
def test_only_repro_imports_plotting_and_papermill(package):
    offenders = []
    for name, path in modules().items():
        if layer(name) == "repro":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n == package or n.startswith(package + ".") for n in names):
                offenders.append(name)
    assert not offenders, f"{package} imported outside repro/: {sorted(set(offenders))}"


def test_no_function_is_longer_than_60_lines():
    long = []
    for name, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > 60:
                    long.append(f"{name}.{node.name}: {lines} lines")
    assert not long, long


def test_the_checks_find_climbs_and_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer("artlib.core.samplers") == "core" and layer("artlib.cli") == "cli" and layer("artlib") is None
    path = ROOT / "art" / "learn.py"
    assert "artlib.art.psiclock" in imports(path, "artlib.art.learn")            # `from . import psiclock`
    assert "artlib.core.errors" in imports(ROOT / "art" / "learner.py", "artlib.art.learner")
