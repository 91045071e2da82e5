"""Every notebook in notebooks/ runs from top to bottom, draws its pictures, and is stored without outputs."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "triangle-test-venv"
MAX_SECONDS = 120  # each notebook promises to run in under two minutes


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory) -> str:
    """A kernel spec that runs this interpreter (and so this environment), found first on JUPYTER_PATH."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "triangle (test)", "language": "python"}))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(folder))
        yield KERNEL


def test_there_are_notebooks():
    assert [p.name for p in NOTEBOOKS][:1] == ["01_impossible_triangle.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} cell {i} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_draws_its_pictures(path, kernel_name):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.monotonic()
    NotebookClient(nb, kernel_name=kernel_name, timeout=MAX_SECONDS,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.monotonic() - start
    assert seconds < MAX_SECONDS, f"{path.name} took {seconds:.0f} s"
    plotting = [c for c in nb.cells if c.cell_type == "code" and "plots." in c.source.splitlines()[-1]]
    assert plotting, f"{path.name} draws nothing"
    for cell in plotting:
        kinds = {kind for out in cell.outputs for kind in out.get("data", {})}
        assert "image/png" in kinds, f"{path.name}: no picture from\n{cell.source}"
