"""The analyst notebook runs top to bottom and draws its charts with Japanese glyphs."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="install the 'notebook' extra")
nbclient = pytest.importorskip("nbclient", reason="install the 'notebook' extra")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "recurring_root_causes.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


def test_notebook_runs_top_to_bottom(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # run outside the repo
    )
    client.execute()  # raises CellExecutionError on any error, glyph warnings included
    images = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error"
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                assert "missing from" not in out["text"], out["text"]
            images += "image/png" in out.get("data", {})
    assert images >= 6  # bars, heatmaps, co-occurrence, coverage, cause–countermeasure graph
