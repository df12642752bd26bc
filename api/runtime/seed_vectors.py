"""Regenerate ``search/data/seed_vectors.npz``: the vectors a first start embeds.

A first ``kizuki serve`` on the bundled corpus embeds every view of the 44 cases (their own
text, outside views and English translation), the concept extractor's example sentences and
the cases' own texts as queries (for the graph's ``similar_to`` edges): a few thousand
texts, minutes on two cores. The facet model's training texts are added (as queries), so
that it can be refitted and cross-validated offline. They depend only
on the bundled data and the bundled model, so they ship with the package and the embedding
cache reads them (``search.embeddings.BUNDLED_VECTORS``). Run this after changing the
bundled cases, their outside views, the annotations or the taxonomy, or the model:

    python -m kizuki.api.runtime.seed_vectors

It builds everything in a temporary data dir with the shipped vectors turned off, and
writes what was embedded. ``tests/api/test_cold_start.py`` fails when the file is stale.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import kizuki.search.embeddings as embeddings
import numpy as np
from kizuki.api.runtime.local import local_snapshot
from kizuki.corpus.settings import Settings
from kizuki.search import facets

__all__ = ["main"]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        embeddings.bundled_vectors.cache_clear()
        original = embeddings.BUNDLED_VECTORS
        embeddings.BUNDLED_VECTORS = Path(tmp) / "none.npz"  # nothing shipped: embed all
        try:
            settings = Settings(data_dir=Path(tmp))
            snap = local_snapshot(settings)
            model_id = snap.index.manifest["model"]["id"]
            cache = embeddings.EmbeddingCache(
                Path(tmp) / "embedding-cache" / "embeddings.sqlite3", bundled=False
            )
            # The facet model's training texts too, so that refitting and cross-validating
            # it (``python -m kizuki.search.facets``, its test) embeds nothing either.
            texts = facets.training_texts(facets.bundled_training_cases())
            facets.embed_queries_cached(
                embeddings.load_embedder(settings), [t.text for t in texts], cache
            )
            items = cache.items()
            cache.close()
        finally:
            embeddings.BUNDLED_VECTORS = original
            embeddings.bundled_vectors.cache_clear()
    keys = np.array([k for k, _ in items])
    vectors = np.stack([v for _, v in items]).astype(np.float32)
    np.savez_compressed(original, keys=keys, vectors=vectors, model_id=np.array(model_id))
    print(f"wrote {original}: {len(keys)} vectors of {model_id}")


if __name__ == "__main__":
    main()
