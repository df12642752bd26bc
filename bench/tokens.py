"""Plain Sudachi tokens for the benchmark's peers and its Sudachi throughput stage.

The peers must rank over the *same* tokens as Kizuki. Until Kizuki's own analyzer is wired
in (phase 2 of the benchmark: ``search.analysis.Analyzer.terms``), this is the tokenisation a
user would write by hand: SudachiPy directly, split mode C, ``normalized_form()``, content
parts of speech only. Tokens never contain spaces, so a case's tokens fit on one line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from corpus.schema import Case

_KEEP_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞", "副詞"})
#: The few grammatical words (as Sudachi normalises them) anyone drops after a first look.
_STOP = frozenset(
    "為る 成る 有る 居る 出来る 因る 依る よる 於く おく 関する 対する 事 物 時 等 為".split()
)
#: Sudachi refuses inputs above ~49 KB of UTF-8; cases are cut into chunks well below that.
_CHUNK_CHARS = 4_000


def case_text(case: Case) -> str:
    """The text a case is searched by: title, event, causes, countermeasures."""
    return "\n".join(t for t in case.text_fields().values() if t)


class SudachiTokenizer:
    """Split mode C + normalised forms + a part-of-speech filter; one dictionary per object."""

    def __init__(self) -> None:
        from sudachipy import Dictionary, SplitMode

        # Creating a Dictionary costs ~30 ms and a tokenizer holds scratch buffers: once.
        self._tokenizer = Dictionary().create(mode=SplitMode.C)

    def tokens(self, text: str) -> list[str]:
        out: list[str] = []
        for start in range(0, len(text), _CHUNK_CHARS):
            for m in self._tokenizer.tokenize(text[start : start + _CHUNK_CHARS]):
                if m.part_of_speech()[0] not in _KEEP_POS:
                    continue
                term = m.normalized_form().strip().lower().replace(" ", "_")
                if term and term not in _STOP:
                    out.append(term)
        return out


def write_tokens(cases: Iterable[Case], path: Path, tokenizer: SudachiTokenizer) -> tuple[int, int]:
    """Tokenise cases to ``path``, one line of space-separated tokens per case.

    Returns (cases, characters analysed) so the caller can report chars/s.
    """
    n = chars = 0
    with open(path, "w", encoding="utf-8") as f:
        for case in cases:
            text = case_text(case)
            chars += len(text)
            f.write(" ".join(tokenizer.tokens(text)))
            f.write("\n")
            n += 1
    return n, chars


def read_tokens(path: Path) -> Iterator[list[str]]:
    """The token lists written by :func:`write_tokens`, in case order."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            yield line.split(" ") if line else []
