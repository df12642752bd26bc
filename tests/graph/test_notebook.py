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


def test_the_data_dir_is_a_parameter_at_the_top():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert "parameters" in first_code.metadata.get("tags", [])
    assert "DATA_DIR = None" in first_code.source.splitlines()


def test_the_notebook_extra_brings_a_jupyter_front_end():
    """`pip install -e ".[notebook]"` then "open the notebook with Jupyter" must work."""
    import re
    import shutil
    import subprocess
    import sys
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["notebook"]
    names = {re.split(r"[<>=\[ ]", r, maxsplit=1)[0].lower() for r in extra}
    assert names & {"jupyterlab", "notebook"}, names
    jupyter = shutil.which("jupyter", path=str(Path(sys.executable).parent))
    assert jupyter, "the extra installs the jupyter command next to this Python"
    run = subprocess.run([jupyter, "lab", "--version"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and re.match(r"\d+\.", run.stdout), run.stderr


def run_notebook(tmp_path, data_dir: Path | None = None):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    if data_dir is not None:  # as papermill -p DATA_DIR … would
        params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        params.source += f"\nDATA_DIR = {str(data_dir)!r}"
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # run outside the repo
    )
    client.execute()  # raises CellExecutionError on any error, glyph warnings included
    return nb


def test_notebook_runs_top_to_bottom(tmp_path):
    # An empty data dir (never this machine's ~/.kizuki): the bundled cases are analysed.
    nb = run_notebook(tmp_path, tmp_path / "no-store")
    assert "no case store at" in outputs(nb) and "the bundled 44 cases" in outputs(nb)
    images = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error"
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                assert "missing from" not in out["text"], out["text"]
            images += "image/png" in out.get("data", {})
    assert images >= 6  # bars, heatmaps, co-occurrence, coverage, cause–countermeasure graph


def outputs(nb) -> str:
    return "".join(
        out.get("text", "") + str(out.get("data", {}).get("text/plain", ""))
        for cell in nb.cells
        for out in cell.get("outputs", [])
    )


def test_notebook_analyses_the_stores_cases_imported_ones_included(tmp_path):
    from kizuki.corpus import seed_cases
    from kizuki.corpus.schema import Case
    from kizuki.corpus.sqlite_store import SqliteCaseStore

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = SqliteCaseStore(data_dir / "cases.sqlite3")
    store.ensure_seeded(seed_cases())
    store.add_cases(
        [
            Case(
                id="mine-1",
                title="証明書の期限切れ",
                sectors=["地域銀行"],
                event="サーバー証明書の有効期限が切れ、インターネットバンキングに接続できなかった。",
                causes=["証明書の有効期限の管理が行われていなかった。"],
                countermeasures=["証明書の期限を台帳で管理することとした。"],
            )
        ]
    )
    text = outputs(run_notebook(tmp_path, data_dir))
    assert f"45 cases from the case store {data_dir / 'cases.sqlite3'}" in text
    assert "44 annotated cases, 1 tagged by the extractor: ['mine-1']" in text


def test_the_notebook_follows_causes_across_imported_editions(tmp_path):
    """Two editions imported as a user does (the 2020 and 2024 fixtures): the notebook's
    trends section counts each edition and draws its chart."""
    import os
    import subprocess
    import sys

    data_dir = tmp_path / "data"
    editions = ROOT / "tests" / "corpus" / "editions"
    for name in ("fixture_2020.txt", "fixture_2024.txt"):
        subprocess.run(
            [sys.executable, "-c", "from kizuki.api.cli import main; main()", "corpus", "import"]
            + [str(editions / name), "--data-dir", str(data_dir)],
            env={k: v for k, v in os.environ.items() if not k.startswith("KIZUKI_")},
            check=True,
            capture_output=True,
            timeout=300,
        )
    nb = run_notebook(tmp_path, data_dir)
    text = outputs(nb)
    assert "editions: 2019 (44 cases), 2020 (4 cases), 2024 (4 cases)" in text
    assert "in every edition: " in text
    trends = next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "cause_trends" in c.source
    )
    assert any("image/png" in out.get("data", {}) for out in nb.cells[trends].outputs)
