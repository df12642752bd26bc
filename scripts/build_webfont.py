"""Build the web page's Japanese font, "Kizuki Gothic", from IPAexGothic.

The page must read right on a machine with no Japanese font (a bare Linux, a kiosk), and
may download nothing from outside. So the app serves a subset of IPAexGothic (IPA Font
License v1.0; it comes with ``matplotlib-fontja``, the notebook extra) as WOFF2 files cut
by Unicode range, the way web font services do: a browser fetches only the files that hold
characters of the page it shows. The files:

* ``kizuki-gothic-00.woff2``: Latin, punctuation, kana, symbols, full-width forms and every
  kanji of the bundled corpus, the taxonomy and the page's labels (most pages need only
  this one);
* ``kizuki-gothic-01.woff2`` …: the remaining kanji of JIS X 0208 and Windows-31J (what
  Japanese incident records are written in), by code point, a few hundred per file;
* ``kizuki-gothic.css``: one ``@font-face`` per file with its ``unicode-range`` and
  ``font-display: swap`` (text shows at once in a fallback font, then in this one).

The IPA Font License asks a derived font not to use the original's name, to be
distributed under the same licence, and to come with the means to replace it with the
original: the family is renamed "Kizuki Gothic", ``LICENSE`` and ``README.md`` in the
output folder say so, and this script is how it was made (run it again with another
``--source`` to rebuild from any IPAexGothic). Needs ``fonttools`` and ``brotli``:

    pip install fonttools brotli
    python scripts/build_webfont.py [--source ipaexg.ttf] [--out api/static/fonts]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FAMILY = "Kizuki Gothic"
FILE_STEM = "kizuki-gothic"
KANJI_PER_FILE = 400


def default_source() -> Path:
    import matplotlib_fontja

    return Path(matplotlib_fontja.__file__).parent / "fonts" / "ipaexg.ttf"


def is_kanji(ch: str) -> bool:
    cp = ord(ch)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF


def encodable(codec: str) -> set[str]:
    """Every character of a Japanese legacy encoding (what records are typed in)."""
    out = set()
    for cp in range(0x20, 0x10000):
        ch = chr(cp)
        try:
            ch.encode(codec)
        except UnicodeEncodeError:
            continue
        out.add(ch)
    return out


#: Data files whose text pages show: the cases, their outside views (shown as the view that
#: matched), the report data, the taxonomy and annotations, the lexicon and facet labels.
#: Not training texts (nobody reads them on a page) and never binary files.
SHOWN_DATA = (
    "corpus/data/fsa2019.jsonl",
    "corpus/data/fsa2019_report.json",
    "corpus/data/fsa2019_expansions.jsonl",
    "corpus/data/fsa2019_views.jsonl",
    "graph/data/*.yaml",
    "search/data/synonyms.tsv",
    "search/data/facets.yaml",
)


def used_text() -> str:
    """The text of the bundled corpus, the taxonomy and the page's labels."""
    parts = []
    paths = [p for pattern in SHOWN_DATA for p in sorted(REPO.glob(pattern))]
    for path in [
        *paths,
        REPO / "api" / "web" / "i18n.py",
        REPO / "api" / "web" / "errors.py",
        *sorted((REPO / "api" / "templates").glob("*.html")),
    ]:
        if path.is_file():
            parts.append(path.read_text(encoding="utf-8"))
    return "".join(parts)


def ranges(codepoints: list[int]) -> str:
    """``U+3000-303F, U+30A0`` … for a sorted list of code points."""
    out: list[str] = []
    start = prev = None
    for cp in codepoints:
        if start is None:
            start = prev = cp
        elif cp == prev + 1:
            prev = cp
        else:
            out.append(_range(start, prev))
            start = prev = cp
    if start is not None:
        out.append(_range(start, prev))
    return ", ".join(out)


def _range(a: int, b: int) -> str:
    return f"U+{a:X}" if a == b else f"U+{a:X}-{b:X}"


def rename(font, version_note: str) -> None:
    """The derived font must not carry the original's name (IPA Font License 3.1(4))."""
    name = font["name"]
    copyright_ = name.getDebugName(0) or ""
    license_ = name.getDebugName(13) or ""
    license_url = name.getDebugName(14) or ""
    version = name.getDebugName(5) or ""
    name.names = []
    records = {
        0: copyright_,
        1: FAMILY,
        2: "Regular",
        3: f"{FAMILY.replace(' ', '')}-Regular;{version_note}",
        4: f"{FAMILY} Regular",
        5: f"{version}; {version_note}",
        6: f"{FAMILY.replace(' ', '')}-Regular",
        10: "A subset of IPAexGothic 00401 made for Kizuki's web page "
        "(scripts/build_webfont.py). Licensed under the IPA Font License Agreement v1.0.",
        13: license_,
        14: license_url,
    }
    for name_id, value in records.items():
        if value:
            name.setName(value, name_id, 3, 1, 0x409)
    if "CFF " in font:  # not for IPAex (TrueType outlines); kept for other sources
        font["CFF "].cff.fontNames = [FAMILY.replace(" ", "")]


def subset(source: Path, chars: set[str], out: Path, note: str) -> int:
    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    options = ft_subset.Options()
    options.flavor = "woff2"
    # Substitutions (vertical forms, widths, ligatures) are kept. The positioning table
    # only holds IPAex's proportional metrics (palt/halt): with the page's "palt" setting
    # they spaced kana and kanji unevenly, so the font keeps its even full-width metrics.
    options.layout_features = ["*"]
    options.drop_tables += ["GPOS"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    options.hinting = False  # screens render outlines; hints add a third of the size
    font = TTFont(str(source))
    sub = ft_subset.Subsetter(options)
    sub.populate(unicodes=[ord(c) for c in chars])
    sub.subset(font)
    rename(font, note)
    font.flavor = "woff2"
    font.save(str(out))
    return out.stat().st_size


def build(source: Path, out_dir: Path) -> dict:
    from fontTools.ttLib import TTFont

    cmap = set(map(chr, TTFont(str(source))["cmap"].getBestCmap()))
    wanted = encodable("cp932") | {chr(c) for c in range(0x20, 0x7F)} | set(used_text())
    wanted = {c for c in wanted if c.isprintable() or c == "\u3000"} & cmap
    used = set(used_text())
    core = {c for c in wanted if not is_kanji(c) or c in used}
    rest = sorted((c for c in wanted if c not in core), key=ord)
    groups = [core] + [
        set(rest[i : i + KANJI_PER_FILE]) for i in range(0, len(rest), KANJI_PER_FILE)
    ]

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{FILE_STEM}-*.woff2"):
        old.unlink()
    note = "subset for Kizuki"
    faces, files = [], []
    for n, chars in enumerate(groups):
        name = f"{FILE_STEM}-{n:02d}.woff2"
        size = subset(source, chars, out_dir / name, note)
        files.append({"file": name, "characters": len(chars), "bytes": size})
        faces.append(
            "@font-face {\n"
            f'  font-family: "{FAMILY}";\n'
            "  font-style: normal;\n"
            "  font-weight: 400;\n"
            "  font-display: swap;\n"
            f'  src: url("{name}") format("woff2");\n'
            f"  unicode-range: {ranges(sorted(map(ord, chars)))};\n"
            "}\n"
        )
    header = (
        f'/* "{FAMILY}": a subset of IPAexGothic (IPA Font License Agreement v1.0, see\n'
        " LICENSE and README.md beside this file), cut by Unicode range so that a page\n"
        " fetches only the files holding its characters. Generated by\n"
        " scripts/build_webfont.py; do not edit. */\n"
    )
    (out_dir / f"{FILE_STEM}.css").write_text(header + "\n".join(faces), encoding="utf-8")
    licence = source.parent / "IPA_Font_License_Agreement_v1.0.txt"
    if licence.is_file():
        shutil.copyfile(licence, out_dir / "LICENSE")
    manifest = {
        "family": FAMILY,
        "source": source.name,
        "characters": sum(f["characters"] for f in files),
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=None, help="IPAexGothic ttf")
    parser.add_argument("--out", type=Path, default=REPO / "api" / "static" / "fonts")
    args = parser.parse_args(argv)
    source = args.source or default_source()
    manifest = build(source, args.out)
    total = sum(f["bytes"] for f in manifest["files"])
    print(
        f"{manifest['characters']} characters in {len(manifest['files'])} files, "
        f"{total / 1e6:.1f} MB, in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
