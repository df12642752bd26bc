"""The web font the app serves: "Kizuki Gothic", a subset of IPAexGothic split by Unicode
range (``scripts/build_webfont.py``). The browser tests check that a browser without any
Japanese font draws the page with it; these check the files and their licence terms."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FONTS = REPO / "api" / "static" / "fonts"
CSS = FONTS / "kizuki-gothic.css"


def faces() -> list[dict]:
    out = []
    for block in re.findall(r"@font-face\s*\{(.*?)\}", CSS.read_text(encoding="utf-8"), re.S):
        props = dict(re.findall(r"([a-z-]+):\s*(.*?);", block, re.S))
        out.append(props)
    return out


def codepoints(unicode_range: str) -> set[int]:
    out: set[int] = set()
    for part in unicode_range.split(","):
        a, _, b = part.strip().removeprefix("U+").partition("-")
        out.update(range(int(a, 16), int(b or a, 16) + 1))
    return out


def test_every_face_swaps_and_names_a_shipped_woff2():
    found = faces()
    manifest = json.loads((FONTS / "manifest.json").read_text(encoding="utf-8"))
    assert len(found) == len(manifest["files"]) > 1
    seen: set[int] = set()
    for face in found:
        assert face["font-family"] == '"Kizuki Gothic"'
        assert face["font-display"] == "swap"
        name = re.fullmatch(r'url\("([^"]+)"\) format\("woff2"\)', face["src"]).group(1)
        data = (FONTS / name).read_bytes()
        assert data[:4] == b"wOF2", name
        cps = codepoints(face["unicode-range"])
        assert not cps & seen, "each character is in one file only"
        seen |= cps
    assert len(seen) == manifest["characters"]


def test_the_bundled_corpus_and_the_page_need_only_the_first_file():
    """Every character the bundled pages show is in file 00, so most pages fetch one file."""
    core = codepoints(faces()[0]["unicode-range"])
    text = "".join(
        p.read_text(encoding="utf-8")
        for p in [
            REPO / "corpus" / "data" / "fsa2019.jsonl",
            REPO / "api" / "web" / "i18n.py",
            REPO / "api" / "web" / "errors.py",
            *(REPO / "api" / "templates").glob("*.html"),
        ]
    )
    missing = {ch for ch in text if ch.isprintable() and ord(ch) > 0x7F and ord(ch) not in core}
    # Only characters IPAexGothic lacks (e.g. emoji) may be missing.
    matplotlib_fontja = pytest.importorskip("matplotlib_fontja")
    from fontTools.ttLib import TTFont

    original = Path(matplotlib_fontja.__file__).parent / "fonts" / "ipaexg.ttf"
    has = set(TTFont(str(original)).getBestCmap())
    assert not {ch for ch in missing if ord(ch) in has}, sorted(missing)


def test_common_japanese_beyond_the_corpus_is_covered():
    """Kanji an imported record may hold (JIS X 0208 levels 1 and 2) are in some file."""
    covered = set().union(*(codepoints(f["unicode-range"]) for f in faces()))
    for text in ("鬱", "麒麟", "齟齬", "澁", "髙", "①", "㈱", "ヴ", "ｶﾀｶﾅ"):
        assert {ord(c) for c in text} <= covered, text


def test_the_derived_font_is_renamed_and_licensed():
    """IPA Font License v1.0: a derived font carries neither the original's name (3.1(4))
    and comes with the licence and the means to replace it with the original (3.1(2))."""
    from fontTools.ttLib import TTFont

    for path in sorted(FONTS.glob("*.woff2")):
        assert "ipa" not in path.name.lower()
        name = TTFont(str(path))["name"]
        for name_id in (1, 3, 4, 6, 16, 17):
            value = name.getDebugName(name_id) or ""
            assert "IPA" not in value, (path.name, name_id, value)
        assert name.getDebugName(1) == "Kizuki Gothic"
    licence = (FONTS / "LICENSE").read_text(encoding="utf-8")
    assert "IPA Font License Agreement v1.0" in licence
    readme = (FONTS / "README.md").read_text(encoding="utf-8")
    assert "scripts/build_webfont.py" in readme and "Replacing it with the original" in readme
    assert (REPO / "scripts" / "build_webfont.py").is_file()


def test_the_page_and_the_docs_load_the_font_css():
    css = (REPO / "api" / "static" / "kizuki.css").read_text(encoding="utf-8")
    assert '"Kizuki Gothic"' in css.split("--font:")[1].split(";")[0]
    base = (REPO / "api" / "templates" / "base.html").read_text(encoding="utf-8")
    assert "/static/fonts/kizuki-gothic.css" in base
    from kizuki.api.http.docs import FONT_HEAD

    assert "/static/fonts/kizuki-gothic.css" in FONT_HEAD


def test_the_woff2_files_are_packaged():
    import tomllib

    data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = data["tool"]["setuptools"]["package-data"]["kizuki.api"]
    assert "static/**/*" in patterns
