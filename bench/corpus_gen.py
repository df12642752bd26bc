"""Deterministic synthetic incident cases at any scale, recombined from the 44 real ones.

Nobody can publish a million real incident reports, but a benchmark of a search engine is
only honest on text that looks like what it will serve. So every synthetic case is built
from *real sentences* of the seed cases: the event of one case (a "template"), causes and
countermeasures spliced from cases of the same report theme, with small perturbations:

- the theme is sometimes swapped (then causes and countermeasures come from the new theme),
- the sectors are sometimes redrawn,
- domain nouns are swapped within their group (ATM ↔ IB ↔ スマートフォンアプリ, 勘定系 ↔
  決済系, ベンダー ↔ 委託先 ...), consistently over the whole case,
- a time of day, an impact count or a recovery time (varied numbers) is added, always
  when nothing else changed, so no case is a verbatim copy of a seed.

Case ``i`` depends only on ``(seed, i)``, so any slice can be regenerated on its own and the
stream never needs the whole corpus in memory. Each case comes with its *provenance*: the
real seed sentences (units) it was built from and how many characters of each it uses;
:mod:`bench.vectors` turns that into realistic vectors without embedding every case.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from kizuki.corpus.schema import Case, Source, Theme

#: Bump when the generated text changes: cached embeddings are keyed by text, but results
#: files record it so runs on different corpora are never compared silently.
GENERATOR_VERSION = 2
DEFAULT_SEED = 20190601

SYNTHETIC_SOURCE = Source(
    report=(
        "Kizuki benchmark: synthetic case recombined from the cases of 金融庁「金融機関の"
        "システム障害に関する分析レポート」(2019); not a real incident"
    )
)

#: Nouns swapped within their group. Longest terms are matched first, so
#: データベースサーバー is one term and not データベース + サーバー.
NOUN_GROUPS: tuple[tuple[str, ...], ...] = (
    ("ATM", "IB", "スマートフォンアプリ", "インターネットバンキング", "窓口端末", "コールセンター"),
    ("勘定系", "決済系", "情報系", "外為系", "営業店系"),
    ("サーバー", "ストレージ", "ネットワーク機器", "ロードバランサー", "ファイアウォール"),
    ("データベースサーバー", "アプリケーションサーバー", "Web サーバー", "認証サーバー"),
    ("ベンダー", "委託先", "システム開発会社", "保守業者", "外部サービス企業"),
    ("振込", "送金", "口座振替", "入出金", "資金決済"),
    ("夜間バッチ", "日次バッチ", "月次バッチ", "オンラインバッチ"),
    ("FX 取引", "株式取引", "暗号資産取引", "投資信託取引"),
    ("クラウド", "オンプレミス環境", "データセンター"),
    ("パッケージ製品", "ミドルウェア", "OS", "ファームウェア"),
)

#: Optional additions that vary numbers and times, as incident write-ups often state them.
_PREFIXES = (
    "{h}時{m:02d}分頃、",
    "{mo}月{d}日{h}時頃、",
    "月末営業日の{h}時頃、",
    "休日明けの{h}時頃、",
)
_SUFFIXES = (
    "影響を受けた取引は約{n:,}件。",
    "復旧までに約{hours}時間を要した。",
    "{h}時{m:02d}分に全面復旧した。",
    "影響顧客数は約{n:,}名。",
)

_P_THEME_SWAP = 0.10
_P_SECTOR_REDRAW = 0.30
_P_NOUN_SWAP = 0.35  # per noun group present in the case
_P_PREFIX = 0.45
_P_SUFFIX = 0.40
_P_EXTRA_EVENT_SENTENCE = 0.20
_P_TEMPLATE_DONOR = 0.70

_SENTENCE = re.compile(r"[^。]+。?")


@dataclass(frozen=True)
class Unit:
    """One real piece of seed text: a title, an event sentence, a cause or a countermeasure."""

    index: int
    case_id: str
    kind: str  # "title" | "event" | "cause" | "countermeasure"
    text: str


@dataclass(frozen=True)
class Provenance:
    """The real units a synthetic case was built from, with the characters used of each."""

    units: tuple[int, ...]
    chars: tuple[int, ...]


class _Seed:
    __slots__ = ("case", "title", "events", "causes", "cms")

    def __init__(self, case: Case, title: int, events, causes, cms) -> None:
        self.case = case
        self.title = title
        self.events: list[int] = events
        self.causes: list[int] = causes
        self.cms: list[int] = cms


class CaseGenerator:
    """Synthetic case ``i`` from ``(seed, i)``; see the module docstring for the recipe."""

    def __init__(self, seeds: Sequence[Case] | None = None, seed: int = DEFAULT_SEED) -> None:
        if seeds is None:
            from kizuki.corpus import seed_cases

            seeds = seed_cases()
        if not seeds:
            raise ValueError("need at least one seed case")
        self.seed = seed
        self.units: list[Unit] = []
        self._seeds: list[_Seed] = []
        for case in seeds:
            self._seeds.append(
                _Seed(
                    case,
                    self._unit(case, "title", case.title or case.event[:40]),
                    [self._unit(case, "event", s) for s in _sentences(case.event)],
                    [self._unit(case, "cause", c) for c in case.causes],
                    [self._unit(case, "countermeasure", c) for c in case.countermeasures],
                )
            )
        self._themes: list[Theme | None] = sorted(
            {s.case.theme for s in self._seeds}, key=lambda t: t.id if t else ""
        )
        self._by_theme: dict[str | None, list[_Seed]] = {}
        for s in self._seeds:
            self._by_theme.setdefault(_theme_id(s.case.theme), []).append(s)
        self._sectors = sorted({x for s in self._seeds for x in s.case.sectors})
        self._n_causes = [len(s.causes) for s in self._seeds if s.causes] or [1]
        self._n_cms = [len(s.cms) for s in self._seeds if s.cms] or [1]
        self._swap: dict[str, tuple[str, ...]] = {t: g for g in NOUN_GROUPS for t in g}
        self._noun_re = re.compile(
            "|".join(re.escape(t) for t in sorted(self._swap, key=len, reverse=True))
        )

    def _unit(self, case: Case, kind: str, text: str) -> int:
        self.units.append(Unit(len(self.units), case.id, kind, text))
        return len(self.units) - 1

    @staticmethod
    def case_id(i: int) -> str:
        return f"syn-{i + 1:07d}"

    def case(self, i: int) -> tuple[Case, Provenance]:
        """Synthetic case number ``i`` (0-based; its id is ``syn-{i+1:07d}``)."""
        rng = random.Random(self.seed * 1_000_003 + i)
        template = rng.choice(self._seeds)
        theme = template.case.theme
        if len(self._themes) > 1 and rng.random() < _P_THEME_SWAP:
            theme = rng.choice([t for t in self._themes if t != theme])
        pool = self._by_theme[_theme_id(theme)]
        keep_template = theme == template.case.theme and rng.random() < _P_TEMPLATE_DONOR
        donors = [template] if keep_template else []
        others = [s for s in pool if s is not template]
        donors += rng.sample(others, min(len(others), rng.choice((1, 1, 2))))
        if not donors:
            donors = [template]

        units: list[int] = [template.title]
        events = template.events[:1]
        if len(template.events) > 1 and rng.random() < 0.6:
            events = template.events
        if rng.random() < _P_EXTRA_EVENT_SENTENCE:
            extra = [u for s in pool if s is not template for u in s.events[1:]]
            if extra:
                events = events + [rng.choice(extra)]
        units += events
        n_causes = rng.choice(self._n_causes)
        n_cms = rng.choice(self._n_cms)
        cause_pool = [u for s in donors for u in s.causes]
        cm_pool = [u for s in donors for u in s.cms]
        causes = rng.sample(cause_pool, min(n_causes, len(cause_pool)))
        cms = rng.sample(cm_pool, min(n_cms, len(cm_pool)))

        swaps = self._noun_swaps(rng, [template.title, *events, *causes, *cms])
        title = self._perturb(self.units[template.title].text, swaps)
        event_texts = [self._perturb(self.units[u].text, swaps) for u in events]
        event = "".join(event_texts)
        prefix, suffix = rng.random() < _P_PREFIX, rng.random() < _P_SUFFIX
        if not (prefix or suffix or swaps):
            suffix = True  # real reports are never verbatim copies of one another
        if prefix:
            event = _fill(rng, rng.choice(_PREFIXES)) + event
        if suffix:
            event = event + _fill(rng, rng.choice(_SUFFIXES))
        cause_texts = [self._perturb(self.units[u].text, swaps) for u in causes]
        cm_texts = [self._perturb(self.units[u].text, swaps) for u in cms]

        sectors = list(template.case.sectors)
        if not sectors or rng.random() < _P_SECTOR_REDRAW:
            sectors = rng.sample(self._sectors, min(len(self._sectors), rng.choice((1, 1, 2))))

        case = Case(
            id=self.case_id(i),
            theme=theme,
            title=title,
            sectors=sectors,
            event=event,
            causes=cause_texts,
            countermeasures=cm_texts,
            source=SYNTHETIC_SOURCE,
        )
        texts = [title, *event_texts, *cause_texts, *cm_texts]
        units += causes + cms
        return case, Provenance(tuple(units), tuple(len(t) for t in texts))

    def _noun_swaps(self, rng: random.Random, units: list[int]) -> dict[str, str]:
        found: dict[tuple[str, ...], set[str]] = {}
        for u in units:
            for m in self._noun_re.finditer(self.units[u].text):
                term = m.group(0)
                found.setdefault(self._swap[term], set()).add(term)
        swaps: dict[str, str] = {}
        for group, terms in found.items():
            if rng.random() < _P_NOUN_SWAP:
                # A permutation of the group, so two different nouns never become the same.
                present = sorted(terms)
                for term, new in zip(present, rng.sample(group, len(present)), strict=True):
                    swaps[term] = new
        return swaps

    def _perturb(self, text: str, swaps: dict[str, str]) -> str:
        if not swaps:
            return text
        return self._noun_re.sub(lambda m: swaps.get(m.group(0), m.group(0)), text)

    def generate(self, n: int, start: int = 0) -> Iterator[tuple[Case, Provenance]]:
        """Cases ``start`` … ``start + n - 1``, one at a time."""
        for i in range(start, start + n):
            yield self.case(i)


def case_text(case: Case) -> str:
    """The text a case is searched by: title, event, causes, countermeasures."""
    return "\n".join(t for t in case.text_fields().values() if t)


def generate(n: int, seed: int = DEFAULT_SEED, start: int = 0) -> Iterator[Case]:
    """``n`` synthetic cases (streamed), recombined from the bundled seed cases."""
    for case, _ in CaseGenerator(seed=seed).generate(n, start):
        yield case


def _sentences(text: str) -> list[str]:
    return [s for s in (m.group(0).strip() for m in _SENTENCE.finditer(text)) if s] or [text]


def _theme_id(theme: Theme | None) -> str | None:
    return theme.id if theme else None


def _fill(rng: random.Random, pattern: str) -> str:
    return pattern.format(
        h=rng.randint(0, 23),
        m=rng.randrange(0, 60, 5),
        mo=rng.randint(1, 12),
        d=rng.randint(1, 28),
        n=rng.choice((1, 2, 5)) * 10 ** rng.randint(1, 5) + rng.randint(0, 9) * 10,
        hours=rng.randint(1, 12),
    )
