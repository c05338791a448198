"""The package's shape: modules import on their own, without a cycle, and use no other
module's private names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "repet_bench"


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, top_level_only: bool) -> list[tuple[str, list[str]]]:
    """``(imported module, [imported names])`` of ``name``'s own package imports."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text())
    out = []
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "repet_bench":
                continue
            names = [a.name for a in node.names]
            modules = [f"{target}.{n}" for n in names if f"{target}.{n}" in MODULES]
            out += [(m, []) for m in modules]
            others = [n for n in names if f"{target}.{n}" not in MODULES]
            if others:  # names defined in ``target`` itself
                out.append((target, others))
        elif isinstance(node, ast.Import):
            out += [(a.name, []) for a in node.names if a.name.split(".")[0] == "repet_bench"]
    return [(m, names) for m, names in out if m in MODULES and m != name]


def test_module_level_imports_form_no_cycle():
    graph = {m: {t for t, _ in _imports(m, top_level_only=True)} for m in MODULES}
    state, path = {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycle = path[path.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in MODULES:
        if module not in state:
            visit(module)


def test_no_module_imports_another_modules_private_names():
    private = [f"{m}: {t}.{n}" for m in MODULES for t, names in _imports(m, top_level_only=False)
               for n in names if n.startswith("_") and not n.startswith("__")]
    assert not private, private


@pytest.mark.slow
def test_each_module_imports_first():
    """As ``python -c "import <module>"`` would, for every module: none of the package
    loaded before it (in a process of its own, so this session's modules stay as they are)."""
    script = (
        "import importlib, sys, traceback\n"
        "failed = []\n"
        f"for name in {sorted(MODULES)!r}:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'repet_bench']:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        failed.append(name + ': ' + traceback.format_exc(limit=-1))\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
