"""Kizuki's corpus: the case model, the bundled FSA 2019 cases and the report's metadata.

>>> from kizuki.corpus import seed_cases, report_metadata
>>> len(seed_cases())
44
>>> report_metadata().event_types["ソフトウエア障害"]
36.0

The bundled files are generated from the seed text by ``kizuki corpus build`` (see
:mod:`corpus.fsa_report`); ``corpus/data/ATTRIBUTION.md`` says where they come from.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from kizuki.corpus.fsa_report import ReportMetadata, Trend
from kizuki.corpus.io import CorpusImportError, load_cases
from kizuki.corpus.schema import Case, Source, Theme

__all__ = [
    "DATA_DIR",
    "SEED_CASES_PATH",
    "SEED_REPORT_PATH",
    "Case",
    "CorpusImportError",
    "ReportMetadata",
    "Source",
    "Theme",
    "Trend",
    "load_cases",
    "report_metadata",
    "seed_cases",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED_CASES_PATH = DATA_DIR / "fsa2019.jsonl"
SEED_REPORT_PATH = DATA_DIR / "fsa2019_report.json"


@lru_cache(maxsize=1)
def _seed_cases() -> tuple[Case, ...]:
    return tuple(load_cases(SEED_CASES_PATH, "jsonl"))


def seed_cases() -> list[Case]:
    """The 44 bundled cases (fsa2019-01 … fsa2019-44), read once per process.

    Cases are frozen, so the list is a fresh list of shared, immutable objects.
    """
    return list(_seed_cases())


@lru_cache(maxsize=1)
def report_metadata() -> ReportMetadata:
    """Glossary, trends (主な障害傾向) and 障害事象別割合 of the 2019 report."""
    return ReportMetadata.model_validate_json(SEED_REPORT_PATH.read_bytes())
