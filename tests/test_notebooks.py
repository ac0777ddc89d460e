"""The sensitivity notebooks: stored without outputs, and they run (on reduced grids)."""

from __future__ import annotations

import os

import nbformat
import pytest

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_are_at_least_two_studies():
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs_and_calls_only_the_api(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, path.name
            for line in cell.source.splitlines():
                if line.startswith(("import ", "from ")):
                    assert line.split()[1].split(".")[0] in {
                        "os", "pathlib", "matplotlib", "pandas", "siteopt"}, line
    assert "CONCLUSION_" not in "".join(c.source for c in nb.cells)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path, tmp_path, monkeypatch):
    from nbclient import NotebookClient

    monkeypatch.setenv("SITEOPT_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("SITEOPT_NOTEBOOK_OUT", str(tmp_path / "results"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # the kernel (and its Dask workers) import this checkout's siteopt, as the tests do
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    printed = "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                      for out in cell.outputs if out.get("output_type") == "stream")
    assert "USD M" in printed  # the findings cell ran and printed numbers
    assert not any(out.get("output_type") == "error" for cell in nb.cells
                   if cell.cell_type == "code" for out in cell.outputs)
    assert (list((tmp_path / "results").rglob("results.parquet"))  # sweeps
            or list((tmp_path / "results").rglob("summary.json")))  # value, alternatives
