"""The package's imports point one way: no cycle between artlib's modules, counting imports
inside functions too (a function-local import must not hide a cycle)."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "artlib"


def import_graph() -> dict[str, set[str]]:
    """module → the artlib modules it imports anywhere in its source."""
    graph = {}
    for path in ROOT.glob("*.py"):
        name = path.stem
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("artlib."):
                deps.add(node.module.split(".")[1])
        graph[name] = {d for d in deps if d != name and (ROOT / f"{d}.py").exists()}
    return graph


def find_cycle(graph):
    state, stack = {}, []

    def visit(n):
        state[n] = "open"
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        state[n] = "done"
        stack.pop()
        return None
    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_no_import_cycle():
    cycle = find_cycle({k: v - {"__main__"} for k, v in import_graph().items() if k not in ("__init__",)})
    assert cycle is None, " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
