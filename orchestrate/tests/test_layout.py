"""The product apart from the lab: the command line and the product's modules load no part of
the lab, nor numpy, pandas or scikit-learn."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
LAB_ONLY = {"numpy", "pandas", "sklearn"}


def test_the_command_line_loads_neither_the_lab_nor_its_libraries() -> None:
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import orchestrate.cli"],
                            capture_output=True, text=True, check=True)
    # lines: "import time: <self us> | <cumulative us> | <module, indented by depth>"
    loaded = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert {"orchestrate.cli", "orchestrate.run.runner", "psycopg2"} <= loaded
    assert not {name.split(".")[0] for name in loaded} & LAB_ONLY
    assert not [name for name in loaded if name.startswith("orchestrate.lab")]


def _module_level_imports(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.parse(path.read_text()).body:  # the module's own statements, not functions'
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    return imported


def test_no_product_module_imports_the_lab_when_it_loads() -> None:
    product = [path for path in PACKAGE.rglob("*.py") if not {"lab", "tests"} & set(path.relative_to(PACKAGE).parts)]
    assert PACKAGE / "definitions.py" in product and PACKAGE / "run" / "runner.py" in product
    offending = {
        str(path.relative_to(PACKAGE)): sorted(name for name in imports if name.startswith("orchestrate.lab") or name.split(".")[0] in LAB_ONLY)
        for path in product
        if (imports := _module_level_imports(path))
    }
    assert {module: names for module, names in offending.items() if names} == {}
