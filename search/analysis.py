"""Japanese (and English) text analysis with SudachiPy, for BM25 and for highlighting.

Every token keeps its character span in the original text, so a UI can highlight what a
query and a case share. Terms are Sudachi's normalised forms (サーバ/サーバー meet), with
function words dropped by part of speech. English words pass through: a stop word list
drops the grammar words, Sudachi's own loanword mapping (``server`` → サーバー) is used
where it has one, and the rest is lower-cased and Snowball-stemmed.

On top of the words, each occurrence of a domain synonym group (``synonyms.tsv``) adds a
*concept* term (``≈再鑑`` for ダブルチェック, 二重確認, 再鑑...). Variants are matched on
the normalised text with token-aligned boundaries, so a multi-token variant (ダブル|チェック)
and a variant split differently by another split mode still meet.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import NamedTuple

import Stemmer
from kizuki.search.synonyms import DEFAULT_SYNONYMS_PATH, SynonymTable
from sudachipy import Dictionary, SplitMode

#: Sudachi refuses inputs above ~49 KB of UTF-8; texts are cut into chunks well below that.
_CHUNK_CHARS = 4_000

_KEEP_POS = {"名詞", "動詞", "形容詞", "形状詞", "副詞"}
# Grammatical words with no topical content, as Sudachi normalises them.
_JA_STOP = frozenset(
    "為る 成る 有る 居る 出来る 無い 良い 言う 思う 行く 来る 見る 事 物 為 等 様 所 方 中 際 上 下 "
    "後 前 他 時 場合 以下 以上 こと もの よう ため とき ところ さん 其の 此の 其れ 此れ 何 又 "
    "既に 更に 特に 再び 未だ 全く 少し 常に 同じ 関する 対する 因る 依る よる 於く おく 置く 伴う "
    "係る 基づく 際する 通じる 為す 致す 頂く 下さる 御座る".split()
)
_EN_STOP = frozenset(
    "a an the and or but if then than so of to in on at by for with from into onto over under "
    "about after before during since until while as is are was were be been being am do does "
    "did done have has had having it its this that these those there here we our us you your "
    "they their them he she his her i me my not no nor can could would should will shall may "
    "might must also only just all any some each every both more most other such very which "
    "who whom whose what when where why how up down out off again further once same too own "
    "s t don doesn didn isn wasn weren won".split()
)
_ASCII_WORD = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Token:
    """A term and where it stands in the analysed text (``text[start:end]`` is its surface)."""

    term: str
    start: int
    end: int


@dataclass(frozen=True)
class AnalyzerConfig:
    """Everything that changes the terms produced; part of an index snapshot's identity."""

    split_mode: str = "C"
    #: Add Sudachi's own synonym group ids (``#syn123``) as extra terms.
    sudachi_synonyms: bool = False
    #: Add domain concept terms from the synonym file.
    domain_synonyms: bool = True
    synonyms_path: str = field(default_factory=lambda: str(DEFAULT_SYNONYMS_PATH))

    def __post_init__(self) -> None:
        if self.split_mode not in ("A", "B", "C"):
            raise ValueError(f"split_mode must be A, B or C, not {self.split_mode!r}")


class _Morph(NamedTuple):
    term: str  # normalised term ("" for whitespace)
    start: int
    end: int
    content: bool  # kept as a BM25 term
    syn_ids: tuple[int, ...]


#: Distinct (surface, normalised form, part of speech) triples remembered per analyzer: the
#: term and keep/drop decision depend on nothing else, and words repeat (Zipf).
_WORD_MEMO_SIZE = 200_000


class Analyzer:
    """Turns text into terms with spans. Create once: loading the dictionary costs ~30 ms."""

    def __init__(self, config: AnalyzerConfig | None = None) -> None:
        self.config = config or AnalyzerConfig()
        self._tokenizer = Dictionary(dict="core").tokenizer()
        self._mode = getattr(SplitMode, self.config.split_mode)
        self._lock = threading.Lock()  # a Sudachi tokenizer is not safe to share across threads
        self._stemmer = Stemmer.Stemmer("english")
        self._words: dict[tuple, tuple[str, bool]] = {}
        self.synonyms = (
            SynonymTable.from_tsv(self.config.synonyms_path)
            if self.config.domain_synonyms
            else SynonymTable.empty()
        )

    def fingerprint(self) -> dict:
        """What an index must record to know whether its terms are still valid."""
        import sudachipy

        return {
            **asdict(self.config),
            "synonyms_path": None,
            "synonyms_sha256": self.synonyms.sha256,
            "sudachipy": sudachipy.__version__,
            "sudachidict": _dictionary_version(),
        }

    # -- public -----------------------------------------------------------------------
    def analyze(self, text: str) -> list[Token]:
        """Content-word tokens plus concept tokens, in text order."""
        morphs = self._morphs(text)
        tokens = [Token(m.term, m.start, m.end) for m in morphs if m.content]
        if self.config.sudachi_synonyms:
            tokens += [
                Token(f"#syn{gid}", m.start, m.end)
                for m in morphs
                if m.content
                for gid in m.syn_ids
            ]
        if self.synonyms.groups:
            tokens += self._concepts(morphs, text)
        tokens.sort(key=lambda t: (t.start, t.end))
        return tokens

    def terms(self, text: str) -> list[str]:
        return [t.term for t in self.analyze(text)]

    # -- internals --------------------------------------------------------------------
    def _morphs(self, text: str) -> list[_Morph]:
        out: list[_Morph] = []
        for offset, chunk in _chunks(text):
            with self._lock:
                raw = [
                    (
                        m.surface(),
                        m.normalized_form(),
                        m.part_of_speech(),
                        m.begin(),
                        m.end(),
                        tuple(m.synonym_group_ids()) if self.config.sudachi_synonyms else (),
                    )
                    for m in self._tokenizer.tokenize(chunk, self._mode)
                ]
            for surface, norm, pos, begin, end, syn in raw:
                out.append(self._morph(surface, norm, pos, begin + offset, end + offset, syn))
        return out

    def _morph(self, surface, norm, pos, start, end, syn) -> _Morph:
        key = (surface, norm, pos)
        word = self._words.get(key)
        if word is None:
            word = self._word(surface, norm, pos)
            if len(self._words) >= _WORD_MEMO_SIZE:
                self._words.clear()
            self._words[key] = word
        term, content = word
        return _Morph(term, start, end, content, syn if term else ())

    def _word(self, surface: str, norm: str, pos: tuple) -> tuple[str, bool]:
        """A word's term and whether it is kept as a BM25 term ("" for whitespace)."""
        if not surface.strip():
            return "", False
        folded = unicodedata.normalize("NFKC", norm)
        if _ASCII_WORD.search(surface):
            lower = surface.lower()
            if folded.isascii():
                term = " ".join(self._stemmer.stemWords(folded.lower().split()))
            else:
                term = folded  # Sudachi's loanword reading, e.g. server -> サーバー
            content = lower not in _EN_STOP and len(lower) > 1
            return term, content
        term = folded.lower()
        content = (
            pos[0] in _KEEP_POS
            and pos[1] not in ("数詞", "非自立可能")
            and term not in _JA_STOP
            and not (len(term) == 1 and _is_kana(term))
        )
        return term, content

    @cached_property
    def _variant_index(self) -> list[tuple[str, str]]:
        """(normalised variant, concept) pairs, longest variants first."""
        pairs = set()
        for group in self.synonyms.groups:
            for variant in group.variants:
                key, _, _ = _joined(self._morphs(variant))
                if key:
                    pairs.add((key, group.concept))
        return sorted(pairs, key=lambda p: (-len(p[0]), p))

    @cached_property
    def _variants_by_prefix(self) -> dict[str, list[int]]:
        """Positions in ``_variant_index`` by each variant's first two characters (or its
        only one), so a text is searched only for variants that can occur in it."""
        out: dict[str, list[int]] = {}
        for i, (key, _) in enumerate(self._variant_index):
            out.setdefault(key[:2], []).append(i)
        return out

    def _candidate_variants(self, joined: str) -> list[tuple[str, str]]:
        by_prefix = self._variants_by_prefix
        present = {joined[i : i + 2] for i in range(len(joined))}  # bigrams and the last char
        present.update(joined)  # one-character variants
        hits = sorted({i for p in present for i in by_prefix.get(p, ())})
        return [self._variant_index[i] for i in hits]  # still longest first

    def _concepts(self, morphs: list[_Morph], text: str) -> list[Token]:
        """One concept token per occurrence; the longest variant wins where variants overlap."""
        joined, starts, ends = _joined(morphs)
        covered: dict[str, list[tuple[int, int]]] = {}
        found: list[Token] = []
        for key, concept in self._candidate_variants(joined):  # longest first
            pos = joined.find(key)
            while pos != -1:
                last = pos + len(key)
                spans = covered.setdefault(concept, [])
                if (
                    pos in starts
                    and last in ends
                    and not any(pos < e and s < last for s, e in spans)
                ):
                    spans.append((pos, last))
                    found.append(Token(concept, starts[pos], ends[last]))
                pos = joined.find(key, pos + 1)
        return found


#: Where a sentence ends: after 。！？!?, at a full stop followed by white space, at line
#: breaks. Kizuki's one sentence rule (the index's sentence vectors, the graph's event
#: sentences, the concept extractor, plan statements, the text a search analyses).
_SENTENCE_END = re.compile(r"(?<=[。！？!?])|(?<=\.)\s+|\n+")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of ``text``, white space around it left out, empty
    ones skipped (Japanese or English; see ``_SENTENCE_END``)."""
    spans, pos = [], 0
    for end in [*(m for m in _SENTENCE_END.finditer(text)), None]:
        stop = len(text) if end is None else end.start()
        piece = text[pos:stop]
        stripped = piece.strip()
        if stripped:
            start = pos + piece.index(stripped)
            spans.append((start, start + len(stripped)))
        if end is not None:
            pos = end.end()
    return spans


def split_sentences(text: str, min_chars: int = 8) -> list[str]:
    """Sentences of a text (Japanese or English), dropping fragments shorter than
    ``min_chars`` (list markers, stray parentheses)."""
    return [text[s:e] for s, e in sentence_spans(text) if e - s >= min_chars]


def _joined(morphs: list[_Morph]) -> tuple[str, dict[int, int], dict[int, int]]:
    """Concatenate normalised terms; map token boundaries in it back to text offsets.

    Whitespace is kept (as one space) only between two ASCII words, so "OTP 認証" in the
    report and "OTP認証" in a query join alike while "log in" stays two words.
    """
    parts: list[str] = []
    starts: dict[int, int] = {}
    ends: dict[int, int] = {}
    length = 0
    prev: _Morph | None = None
    for i, m in enumerate(morphs):
        if not m.term:
            nxt = morphs[i + 1] if i + 1 < len(morphs) else None
            if prev and nxt and prev.term[-1:].isascii() and nxt.term[:1].isascii():
                parts.append(" ")
                length += 1
            continue
        starts.setdefault(length, m.start)
        parts.append(m.term)
        length += len(m.term)
        ends[length] = m.end
        prev = m
    return "".join(parts), starts, ends


def _chunks(text: str):
    """Yield (offset, chunk) pieces below Sudachi's input limit, cut after a line or 。."""
    start = 0
    while len(text) - start > _CHUNK_CHARS:
        window = text[start : start + _CHUNK_CHARS]
        cut = max(window.rfind("\n"), window.rfind("。"), window.rfind(". "))
        cut = cut + 1 if cut > _CHUNK_CHARS // 2 else _CHUNK_CHARS
        yield start, text[start : start + cut]
        start += cut
    if start < len(text):
        yield start, text[start:]


def _is_kana(ch: str) -> bool:
    return "\u3040" <= ch <= "\u30ff"


def _dictionary_version() -> str:
    try:
        from importlib.metadata import version

        return version("sudachidict_core")
    except Exception:  # noqa: BLE001 - a missing version only weakens staleness checks
        return "unknown"
