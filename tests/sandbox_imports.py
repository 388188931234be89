"""The sandbox's import graph, read from the source with `ast` (nothing is imported).

    python tests/sandbox_imports.py           # print the graph, its cycles, layer violations and resource writes
    python tests/sandbox_imports.py --check   # the same, and exit 1 on any cycle, violation or resource write
    python tests/sandbox_imports.py --check --quiet   # only the verdict (`make lint`)

Every `import` counts, at module level or inside a function (marked `*`), since an import
hidden in a function is still a dependency. The layers, top to bottom:

    app         app, sandbox_routes, hosted_pages, …    HTTP, validation, auth, wiring, HTML pages
    resources   resources.<one per API resource>        parse the request, call the engine, shape the answer
    lookups     lookups, list_queries                   lookups, expansions and pages shared by resources
    engine      engine.*                                the billing rules: no HTTP, no request objects
    base        context, database, refusals, document, … what every layer stands on

A module may import from its own layer or any layer below, never above; no resource module
imports another; and there are no cycles at all.

Every rule lives in the engine, so a resource module changes nothing itself: no module under
`resources/` calls a writing method of the store (`STORE_WRITES`, the methods of
`database.Store` that change the database), `emit` (an event is news of a change, made where the
change is) or `touch` (the stamp of a change). Calls are matched by method name whatever the
receiver, so `store = ctx.store; store.save(...)` counts too; each is listed as `file:line`.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "payment_kit_sandbox"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
LAYERS = ("base", "engine", "lookups", "resources", "app")
APP = {"app", "sandbox_routes", "hosted_pages", "server", "__main__"}
LOOKUPS = {"lookups", "list_queries"}
# The methods of `database.Store` that write (the deliveries ones are the webhook queue's), and
# `Context.set_clock_offset`, which writes the stored clock.
STORE_WRITES = {
    "insert",
    "save",
    "delete",
    "set_meta",
    "_write_meta",
    "queue_delivery",
    "claim_deliveries",
    "settle_delivery",
    "release_deliveries",
    "retry_deliveries",
    "set_clock_offset",
}
# What records a change besides the store: its events and its `updated_at`.
CHANGE_CALLS = {"emit", "touch"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    inner = module.removeprefix(PACKAGE).lstrip(".")
    head = inner.split(".")[0]
    if head == "engine":
        return "engine"
    if head == "resources":
        return "resources"
    if inner in LOOKUPS:
        return "lookups"
    if inner in APP:
        return "app"
    return "base"


def imports_of(path: Path, modules: set[str]) -> dict[str, bool]:
    """The package modules `path` imports, each with whether only from inside a function."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, bool] = {}

    def add(target: str, nested: bool) -> None:
        if target in modules and target != name:
            found[target] = found.get(target, True) and nested

    def visit(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, inner)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in child.names:
                    # `from . import billing` names a module; `from .billing import x` names its contents.
                    add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base, inner)
            elif isinstance(child, ast.Call) and getattr(child.func, "id", None) == "import_module":
                found["<dynamic import_module>"] = inner
            visit(child, inner)

    visit(ast.parse(path.read_text()), False)
    return found


def graph() -> dict[str, dict[str, bool]]:
    paths = sorted(ROOT.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, modules) for p in paths}


def cycles(edges: dict[str, dict[str, bool]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges.get(node, {}):
            if target not in edges:
                continue
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            connect(node)
    return out


def violations(edges: dict[str, dict[str, bool]]) -> list[str]:
    out = []
    for source, targets in sorted(edges.items()):
        for target in sorted(targets):
            if target.startswith("<"):
                out.append(f"{source} imports modules by name at run time ({target})")
                continue
            low, high = LAYERS.index(layer_of(target)), LAYERS.index(layer_of(source))
            if low > high:
                out.append(f"{source} ({layer_of(source)}) imports {target} ({layer_of(target)}), a layer above it")
            elif (
                layer_of(source) == layer_of(target) == "resources"
                and source != f"{PACKAGE}.resources"
                and target != f"{PACKAGE}.resources"
            ):
                out.append(f"{source} imports {target}: one resource module imports another")
    return out


def resource_writes(root: Path = ROOT) -> list[str]:
    """`file:line: call` for each write, event or touch a module under `resources/` makes."""
    out = []
    for path in sorted((root / "resources").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = node.func.attr
                if name in STORE_WRITES or name in CHANGE_CALLS:
                    where = path.relative_to(root.parent)
                    out.append(f"{where}:{node.lineno}: {ast.unparse(node.func)}() (a change belongs in the engine)")
    return sorted(out, key=lambda line: (line.split(":")[0], int(line.split(":")[1])))


def main(argv: list[str]) -> int:
    edges = graph()
    short = {m: m.removeprefix(PACKAGE + ".") if m != PACKAGE else "(package)" for m in edges}
    for module, targets in edges.items() if "--quiet" not in argv else ():
        names = ", ".join(short.get(t, t) + ("*" if nested else "") for t, nested in sorted(targets.items()))
        print(f"{short[module]:<34} [{layer_of(module):<9}] -> {names or '-'}")
    found_cycles, found_violations = cycles(edges), violations(edges)
    print(f"\n{sum(len(t) for t in edges.values())} imports among {len(edges)} modules (* = inside a function)")
    print(f"cycles: {len(found_cycles)}")
    for component in found_cycles:
        print("  " + " <-> ".join(short[m] for m in component))
    print(f"layer violations: {len(found_violations)}")
    for line in found_violations:
        print("  " + line.replace(PACKAGE + ".", ""))
    writes = resource_writes()
    print(f"resource writes: {len(writes)}")
    for line in writes:
        print("  " + line)
    return 1 if "--check" in argv and (found_cycles or found_violations or writes) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
