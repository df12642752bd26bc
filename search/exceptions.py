"""The search layer's errors (the base class and the convention: ``corpus.exceptions``)."""

from __future__ import annotations

from kizuki.corpus.exceptions import KizukiError

__all__ = ["CorruptSnapshot", "RankerFileError"]


class RankerFileError(KizukiError, ValueError):
    """A ranker file (``KIZUKI_RANKER_FILE``, ``--ranker-file``) that cannot be used."""


class CorruptSnapshot(KizukiError, ValueError):
    """A saved snapshot's files do not match the checksums in its manifest."""
