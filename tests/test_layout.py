"""The layout tells the architecture (DESIGN.md "The parts"): one folder per part, imports
pointing one way down the list, no circle anywhere, no provider named where the transport,
the stream and the session work, no module much over 400 lines."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

import jupyter_chat

PACKAGE = Path(jupyter_chat.__file__).parent
# top to bottom: a module may import its own part and the parts below it, never above
LAYERS = [
    "magics",
    "experiment",
    "batch",
    "widgets",
    "display",
    "session",
    "structured",
    "replay",
    "client",
    "stream",
    "providers",
]
BASE = {"errors", "_secrets", "_text", "_version", "interpolate"}
TOP = {"__init__", "cli", "local"}  # the face and the commands: nothing in a part imports them
PROVIDER_IDS = re.compile(
    r"\b(eigenai|eigencloud|edenai|patgateway|adaptive|openai|local)\b", re.IGNORECASE
)


def module_name(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"] or ["__init__"]
    return ".".join(parts)


def modules(package: Path = PACKAGE) -> dict[str, ast.Module]:
    return {
        module_name(p, package): ast.parse(p.read_text(encoding="utf-8"))
        for p in sorted(package.rglob("*.py"))
        if "labextension" not in p.parts
    }


def imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """Every module of the package that ``name`` imports, at the top, inside a function or
    under ``TYPE_CHECKING``: ``import jupyter_chat`` and ``from .. import x`` (x not a module)
    import the package's face, ``__init__``."""
    here = [] if name == "__init__" else name.split(".")
    package = here if name in known and _is_package(name, known) else here[:-1]
    found = set()

    def target(parts: list[str]) -> str:
        return ".".join(parts) or "__init__"

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                if len(package) - node.level + 1 < 0:
                    continue
            elif node.module == "jupyter_chat" or (node.module or "").startswith("jupyter_chat."):
                base = []
            else:
                continue
            module = (node.module or "").split(".") if node.module else []
            if not node.level:
                module = module[1:]  # drop "jupyter_chat"
            parent = [*base, *module]
            for alias in node.names:
                sub = target([*parent, alias.name])
                # a name that is a module is that module; anything else comes from the parent
                found.add(sub if sub in known else target(parent))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                head, *rest = alias.name.split(".")
                if head == "jupyter_chat":
                    found.add(target(rest))
    return {m for m in found if m in known} - {name}


def _is_package(name: str, known: set[str]) -> bool:
    return any(other.startswith(name + ".") for other in known)


ALL = set(modules())


def layer(name: str) -> int:
    head = name.split(".")[0]
    if head in TOP:
        return -1
    if head in BASE:
        return len(LAYERS)
    return LAYERS.index(head)


def wrong_imports(package: Path = PACKAGE) -> list[str]:
    """Imports that point up the list of parts, or at the face from inside a part."""
    found = modules(package)
    known = set(found)
    wrong = []
    for name, tree in found.items():
        for target in imports(name, tree, known):
            if layer(target) < layer(name) or layer(target) == -1 and name not in TOP:
                wrong.append(f"{name} -> {target}")
    return sorted(wrong)


def circles(package: Path = PACKAGE) -> list[str]:
    found = modules(package)
    known = set(found)
    graph = {name: imports(name, tree, known) for name, tree in found.items()}
    # a package's __init__ is imported with any of its modules: it may not import them back
    out, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                out.append(" -> ".join([*path[path.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    return out


def test_every_module_belongs_to_a_part():
    for name in ALL:
        head = name.split(".")[0]
        assert head in LAYERS or head in BASE or head in TOP, name


def test_imports_point_down_the_list_of_parts():
    assert wrong_imports() == []


def test_there_is_no_import_circle():
    assert circles() == []


PLANTS = {
    "from .. import __version__": "client/request.py",
    "import jupyter_chat": "session/record.py",
    "from jupyter_chat import chat": "widgets/panel.py",
    "from .. import chat as ask": "magics/commands.py",
    "from ..widgets import panel": "display/cell.py",
}


@pytest.mark.parametrize("line", sorted(PLANTS))
def test_a_planted_back_import_fails_the_layout(tmp_path, line):
    """The checks see every form of import: a copy of the package with one back-import
    planted inside a function fails, where the package itself passes."""
    copy = tmp_path / "jupyter_chat"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("labextension", "__pycache__"))
    path = copy / PLANTS[line]
    path.write_text(
        path.read_text(encoding="utf-8") + f"\n\ndef _planted():\n    {line}\n",
        encoding="utf-8",
    )
    planted = module_name(path.with_suffix(".py"), copy)
    assert any(w.startswith(f"{planted} -> ") for w in wrong_imports(copy)), line


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
