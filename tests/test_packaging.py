"""The package's metadata builds without deprecation warnings and names its licences."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import pathlib, sys, tempfile, warnings
from setuptools import build_meta
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    out = tempfile.mkdtemp()
    name = build_meta.prepare_metadata_for_build_wheel(out)
for w in caught:
    if "Deprecat" in w.category.__name__:
        print("WARNING", w.category.__name__, str(w.message).splitlines()[0])
print((pathlib.Path(out) / name / "METADATA").read_text(encoding="utf-8"))
"""


def test_metadata_has_an_spdx_licence_and_no_deprecation_warning():
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONWARNINGS": "default"},
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stdout, [
        line for line in result.stdout.splitlines() if line.startswith("WARNING")
    ]
    assert "SetuptoolsDeprecationWarning" not in result.stderr
    metadata = result.stdout.splitlines()
    assert "License-Expression: MIT" in metadata
    files = {line.split(": ", 1)[1] for line in metadata if line.startswith("License-File: ")}
    assert {"LICENSE", "corpus/data/ATTRIBUTION.md", "api/static/fonts/LICENSE"} <= files
    for name in files:
        assert (REPO / name).is_file(), name
