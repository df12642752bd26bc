"""Kizuki (気づき): similar-incident search and a cause–countermeasure knowledge graph over
the IT-system failures Japanese financial institutions reported to the FSA.

One top-level package, four layers beneath it, each importing only those before it::

    kizuki.corpus  ←  kizuki.search  ←  kizuki.graph  ←  kizuki.api

An installed wheel holds them as ``kizuki/corpus``, ``kizuki/search``, … and claims no
other top-level name in the environment it is installed into. In a checkout of the
repository the layers are the folders at its root (``corpus/``, ``search/``, ``graph/``,
``api/``, as the design card lays them out); this ``kizuki/`` folder holds only this file,
which adds the repository's root to the package's path, so that ``import kizuki.search``
finds ``search/`` there. Nothing may import ``corpus``, ``search``, ``graph`` or ``api``
without the ``kizuki.`` prefix (``tests/test_layers.py`` checks), or a module would be
loaded twice under two names.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent
if not (_HERE / "api").is_dir():  # a checkout: the layers are the repository's folders
    __path__.append(str(_HERE.parent))  # noqa: F821 - a package's __path__

__all__: list[str] = []
