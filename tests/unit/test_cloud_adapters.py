"""The cloud adapters are leaves: they import only the lowest layers of the library.

An adapter (``asl_recognition/azure/``, and any ``asl_recognition/azure_*/`` beside it) may use
``errors``, ``_io``, ``data`` and its own modules; the trainers, deployers, comparisons and model
flavours call the adapter, never the other way. Every import counts: module level, inside
functions, and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import asl_recognition

PACKAGE = Path(asl_recognition.__file__).resolve().parent
#: what an adapter may import from this library (besides itself)
ALLOWED = frozenset({"errors", "_io", "data"})


def adapters() -> list[Path]:
    return sorted(p for p in PACKAGE.iterdir() if p.is_dir() and (p.name == "azure" or p.name.startswith("azure_")))


def forbidden_imports(source: str, *, adapter: str, module: str) -> list[str]:
    """``asl_recognition.<x>`` modules imported by ``source`` with ``x`` outside the allowed set.

    ``module`` is the dotted name of the file (for relative imports).
    """
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [target] if target != "asl_recognition" else [f"{target}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "asl_recognition" and len(parts) > 1 and parts[1] not in ALLOWED | {adapter}:
                found.append(name)
    return found


def test_the_checker_finds_upward_imports() -> None:
    source = (
        "from asl_recognition.errors import ConfigurationError\n"
        "from asl_recognition.azure.gateway import ChildRun\n"
        "from asl_recognition import trainers\n"
        "def f():\n"
        "    from asl_recognition.deploy import score\n"
        "    from ..compare import Comparator\n"
    )
    found = forbidden_imports(source, adapter="azure", module="asl_recognition.azure.x")
    assert found == ["asl_recognition.trainers", "asl_recognition.deploy", "asl_recognition.compare"]


@pytest.mark.parametrize("adapter", adapters(), ids=lambda p: p.name)
def test_adapter_imports_nothing_from_the_layers_that_use_it(adapter: Path) -> None:
    problems = []
    for path in sorted(adapter.rglob("*.py")):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        for name in forbidden_imports(path.read_text(encoding="utf-8"), adapter=adapter.name, module=module):
            problems.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert problems == [], "\n".join(problems)
