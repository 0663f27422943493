"""The product apart from the lab: the command line and the product's modules load no part of
the lab, nor numpy, pandas or scikit-learn. The macros' shape: one public macro per file, private
ones (`_`-prefixed) used only beside their definition and hidden from the docs, public ones
documented with typed arguments."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import yaml

PACKAGE = Path(__file__).resolve().parents[1]
MACROS = PACKAGE.parent / "macros"
MACRO_DEFINITION = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\((.*?)\)\s*-?%\}", re.S)
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


def _macro_definitions() -> dict[str, tuple[Path, list[str]]]:
    """Each macro's file and parameter names."""
    definitions: dict[str, tuple[Path, list[str]]] = {}
    for path in sorted(MACROS.rglob("*.sql")):
        for name, parameters in MACRO_DEFINITION.findall(path.read_text()):
            assert name not in definitions, f"{name} is defined twice"
            definitions[name] = (path, [part.split("=")[0].strip() for part in parameters.split(",") if part.strip()])
    return definitions


def _macro_documentation() -> dict[str, dict]:
    documented: dict[str, dict] = {}
    for path in sorted(MACROS.rglob("*.yml")):
        for entry in yaml.safe_load(path.read_text()).get("macros", []):
            documented[entry["name"]] = entry
    return documented


def test_one_public_macro_per_file_and_private_ones_beside_their_only_user() -> None:
    definitions = _macro_definitions()
    assert {"pca_sparse_train", "hourly_pca_fit", "_pca_check_cells"} <= set(definitions)
    public_per_file: dict[Path, list[str]] = {}
    for name, (path, _) in definitions.items():
        if not name.startswith("_"):
            public_per_file.setdefault(path, []).append(name)
    assert {str(path.relative_to(MACROS)): names for path, names in public_per_file.items() if len(names) > 1} == {}
    sources = {path: path.read_text() for path in MACROS.rglob("*.sql")}
    used_elsewhere = {
        name: sorted(str(other.relative_to(MACROS)) for other, text in sources.items()
                     if other != path and re.search(rf"\b{name}\(", text))
        for name, (path, _) in definitions.items()
        if name.startswith("_")
    }
    assert {name: files for name, files in used_elsewhere.items() if files} == {}


def test_every_macro_is_documented_the_private_ones_hidden() -> None:
    definitions = _macro_definitions()
    documented = _macro_documentation()
    assert sorted(set(definitions) - set(documented)) == []
    # generic tests and materializations are documented as test_<name> and materialization_<name>_<adapter>
    assert sorted(name for name in set(documented) - set(definitions) if not name.startswith(("test_", "materialization_"))) == []
    shown_private = [name for name in definitions if name.startswith("_") and documented[name].get("docs", {}).get("show", True)]
    assert shown_private == []
    badly_documented = {
        name: [argument.get("name") for argument in documented[name].get("arguments", [])]
        for name, (_, parameters) in definitions.items()
        if not name.startswith("_") and (
            not documented[name].get("description")
            or [argument.get("name") for argument in documented[name].get("arguments", [])] != parameters
            or not all(argument.get("type") and argument.get("description") for argument in documented[name].get("arguments", []))
        )
    }
    assert badly_documented == {}
