"""The layout tells the architecture (DESIGN.md "The parts"): one folder per part, imports
pointing one way down the list, no circle anywhere, no provider named where the transport,
the stream and the session work, no module much over 400 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupyter_chat

PACKAGE = Path(jupyter_chat.__file__).parent
# top to bottom: a module may import its own part and the parts below it, never above
LAYERS = ["magics", "widgets", "display", "session", "replay", "client", "stream", "providers"]
BASE = {"errors", "_secrets", "_text", "interpolate"}
TOP = {"__init__", "cli"}
PROVIDER_IDS = re.compile(
    r"\b(eigenai|eigencloud|edenai|patgateway|adaptive|openai|local)\b", re.IGNORECASE
)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"] or ["__init__"]
    return ".".join(parts)


def modules() -> dict[str, ast.Module]:
    return {
        module_name(p): ast.parse(p.read_text(encoding="utf-8"))
        for p in sorted(PACKAGE.rglob("*.py"))
        if "labextension" not in p.parts
    }


def imports(name: str, tree: ast.Module) -> set[str]:
    """Every module of the package that ``name`` imports, at the top or inside a function."""
    package = name.split(".")[:-1] if not _is_package(name) else name.split(".")
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1] if node.level > 1 else package
                target = ".".join([*base, *(node.module.split(".") if node.module else [])])
                if not node.module:  # from . import x
                    found |= {".".join([*base, a.name]).strip(".") for a in node.names}
                    continue
            elif node.module and node.module.startswith("jupyter_chat"):
                target = node.module[len("jupyter_chat") :].lstrip(".")
            else:
                continue
            found.add(target.strip(".") or "__init__")
            found |= {f"{target}.{a.name}".strip(".") for a in node.names}
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("jupyter_chat."):
                    found.add(a.name[len("jupyter_chat.") :])
    return {m for m in found if m in ALL} - {name}


def _is_package(name: str) -> bool:
    return (PACKAGE / Path(*name.split(".")) / "__init__.py").exists()


ALL = set(modules())


def layer(name: str) -> int:
    head = name.split(".")[0]
    if head in TOP:
        return -1
    if head in BASE:
        return len(LAYERS)
    return LAYERS.index(head)


def test_every_module_belongs_to_a_part():
    for name in ALL:
        head = name.split(".")[0]
        assert head in LAYERS or head in BASE or head in TOP, name


def test_imports_point_down_the_list_of_parts():
    wrong = []
    for name, tree in modules().items():
        for target in imports(name, tree):
            if layer(target) < layer(name) or layer(target) == -1 and name not in TOP:
                wrong.append(f"{name} -> {target}")
    assert wrong == []


def test_there_is_no_import_circle():
    graph = {name: imports(name, tree) for name, tree in modules().items()}
    # a package's __init__ is imported with any of its modules: it may not import them back
    circles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def _code_words(tree: ast.Module) -> list[str]:
    """Identifiers, attribute names, imported names and string constants, docstrings aside."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    words = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            words += [a.name for a in node.names] + [getattr(node, "module", None) or ""]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            words.append(node.value)
    return words


def test_no_provider_is_named_in_the_transport_the_stream_or_the_session():
    named = [
        f"{name}: {word[:60]!r}"
        for name, tree in modules().items()
        if name.split(".")[0] in ("client", "stream", "session")
        for word in _code_words(tree)
        if PROVIDER_IDS.search(word)
    ]
    assert named == []


def test_modules_are_short_and_say_their_job_first():
    for path in PACKAGE.rglob("*.py"):
        if "labextension" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 420, path
        doc = ast.get_docstring(ast.parse(text))
        assert doc and doc.split("\n")[0].strip(), f"{path}: no first docstring line"
