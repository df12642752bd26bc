"""The C-parsed data files are the same objects the pure-Python safe loader gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kizuki.corpus.yamlfile import load_yaml

REPO = Path(__file__).resolve().parents[2]
BUNDLED = sorted(
    p for layer in ("corpus", "search", "graph") for p in (REPO / layer).rglob("*.yaml")
)


def test_every_bundled_data_file_is_found():
    names = {p.name for p in BUNDLED}
    assert {"taxonomy.yaml", "cause_signs.yaml", "facets.yaml"} <= names


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(REPO)))
def test_the_same_objects_as_the_python_safe_loader(path):
    text = path.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)


def test_it_stays_safe_and_reports_bad_yaml_as_yaml_errors():
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: [1, 2")
