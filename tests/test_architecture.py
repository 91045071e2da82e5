"""The package's architecture holds: layers import only downward (the import-linter contracts in
pyproject.toml), and no module imports, through any chain, a module that imports it back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_each_layer_imports_only_from_the_layers_below_it():
    lint = Path(sys.executable).parent / "lint-imports"
    done = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_module_is_part_of_an_import_cycle():
    graph = grimp.build_graph("sim")
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append([module, *graph.find_shortest_chain(importer=imported, imported=module)])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_compiled_loops_import_nothing_else_of_the_package():
    graph = grimp.build_graph("sim")
    loops = {m for m in graph.modules if m == "sim.kernels" or m.startswith("sim.kernels.")}
    outside = {(m, i) for m in loops for i in graph.find_modules_directly_imported_by(m) if i not in loops}
    assert not outside, outside
