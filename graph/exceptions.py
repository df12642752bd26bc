"""The graph layer's errors (the base class and the convention: ``corpus.exceptions``)."""

from __future__ import annotations

from kizuki.corpus.exceptions import KizukiError

__all__ = ["AnnotationError", "ChainError", "ControlsError", "TaxonomyError", "UnknownNodeError"]


class TaxonomyError(KizukiError, ValueError):
    """The taxonomy file is malformed; the message names the concept and the problem."""


class AnnotationError(KizukiError, ValueError):
    """The annotation file disagrees with the taxonomy or the corpus; the message says where."""


class ChainError(KizukiError, ValueError):
    """The chains file disagrees with the taxonomy or the case text; the message says where."""


class ControlsError(KizukiError, ValueError):
    """The control-framework mapping disagrees with the taxonomy or its own id lists."""


class UnknownNodeError(KizukiError, LookupError):
    """An id that is not in the graph, or not of the expected type."""

    def __init__(self, kind: str, node_id: str, hint: str = "") -> None:
        self.kind, self.node_id = kind, node_id
        message = f"unknown {kind} {node_id!r}"
        super().__init__(f"{message}; {hint}" if hint else message)

    def __str__(self) -> str:  # KeyError-like quoting is not wanted in CLI messages
        return self.args[0]
