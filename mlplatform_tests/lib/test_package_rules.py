"""Rules of the package layout: lib/ is plain compute, and modules talk through public names."""

import ast
import subprocess
import sys
from pathlib import Path

import mlplatform

PACKAGE = Path(mlplatform.__file__).parent


def test_every_lib_module_imports_without_dagster():
    code = (
        "import importlib, pkgutil, sys\n"
        "import mlplatform.lib as lib\n"
        "for m in pkgutil.walk_packages(lib.__path__, 'mlplatform.lib.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'benchmarks')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_no_module_imports_a_private_name_of_another():
    offences = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mlplatform"):
                offences += [
                    f"{path.relative_to(PACKAGE)}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert offences == []
