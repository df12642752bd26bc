"""Test PDFs of the report fixtures, printed with reportlab in the bundled Japanese font.

A fixture's pages are its form-feed pages, or (a text without form feeds, as the 2019
seed's conversion gives) the runs of lines ending in a printed page number. The doubled
blank lines such a conversion adds are not printed: a PDF has the lines, not them.
"""

from __future__ import annotations

import functools
import re
import tempfile
from pathlib import Path

import matplotlib_fontja
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FIXTURES = Path(__file__).parent / "editions"
FONT = Path(matplotlib_fontja.__file__).parent / "fonts" / "ipaexg.ttf"
#: What fits on an A4 page at 14 pt leading; a text without page numbers (the 2019 seed)
#: is cut into pages of this many lines.
LINES_PER_PAGE = 55
_PAGE_NUMBER = re.compile(r"^\s*[-－]?\s*\d{1,3}\s*[-－]?\s*$")


#: The report's bullets are private-use characters of a symbol font (Wingdings): U+F075 for
#: causes, U+F06C for countermeasures. The test PDFs print them the same way, from a copy
#: of DejaVu Sans whose character map also sends them to its ◆ and ● glyphs; ➢ comes from
#: DejaVu Sans too (IPAexGothic has neither).
_SYMBOLS = {0xF075: 0x25C6, 0xF06C: 0x25CF}


@functools.cache
def _fonts() -> tuple[str, str, frozenset[int]]:
    """(Japanese font, symbol font, the code points the Japanese font has), registered."""
    import matplotlib
    from fontTools.ttLib import TTFont as FontFile

    dejavu = FontFile(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")
    for table in dejavu["cmap"].tables:
        if table.isUnicode():
            for private, shown in _SYMBOLS.items():
                if shown in table.cmap:
                    table.cmap[private] = table.cmap[shown]
    symbols = Path(tempfile.mkdtemp(prefix="kizuki-fonts-")) / "symbols.ttf"
    dejavu.save(str(symbols))
    pdfmetrics.registerFont(TTFont("IPAexGothic", str(FONT)))
    pdfmetrics.registerFont(TTFont("KizukiSymbols", str(symbols)))
    japanese = frozenset(FontFile(str(FONT)).getBestCmap())
    return "IPAexGothic", "KizukiSymbols", japanese


def _draw(pdf: canvas.Canvas, x: float, y: float, line: str, size: float) -> None:
    """One line, each character in the font that has it."""
    japanese, symbols, covered = _fonts()
    text = pdf.beginText(x, y)
    for char in line:
        text.setFont(japanese if ord(char) in covered else symbols, size)
        text.textOut(char)
    pdf.drawText(text)


def pages_of(text: str) -> list[list[str]]:
    """The fixture's pages, each a list of lines."""
    if "\f" in text:
        return [page.split("\n") for page in text.split("\f")]
    lines = [line for k, line in enumerate(text.split("\n")) if line.strip() or k % 2 == 0]
    pages, page = [], []
    for line in lines:
        page.append(line)
        if _PAGE_NUMBER.match(line) or len(page) >= LINES_PER_PAGE:
            pages.append(page)
            page = []
    return [*pages, page] if any(s.strip() for s in page) else pages


def build_pdf(text: str, path: Path, *, password: str | None = None) -> Path:
    """``text`` printed page by page; encrypted with a user password when given."""
    encrypt = None
    if password is not None:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption(password, ownerPassword=password + "-owner", strength=128)
    pdf = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    for page in pages_of(text):
        y = 800.0
        for line in page:
            indent = len(line) - len(line.lstrip(" "))
            _draw(pdf, 56 + 2.5 * indent, y, line.strip(), 10.0)
            y -= 14.0
        pdf.showPage()
    pdf.save()
    return path


def build_two_column_pdf(left: list[str], right: list[str], path: Path) -> Path:
    """One page of two columns, drawn line by line across both (the order a PDF may keep)."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for k in range(max(len(left), len(right))):
        y = 800.0 - 13.0 * k
        if k < len(right):
            _draw(pdf, 310, y, right[k], 9.0)
        if k < len(left):
            _draw(pdf, 40, y, left[k], 9.0)
    pdf.showPage()
    pdf.save()
    return path


def build_scan_pdf(text: str, path: Path) -> Path:
    """A page that is only a picture of text, as a scanner makes it: no text layer."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(FONT), 28)
    for k, line in enumerate(text.split("\n")[:50]):
        draw.text((80, 80 + 34 * k), line, fill=0, font=font)
    picture = path.with_suffix(".png")
    image.save(picture)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawImage(str(picture), 0, 0, width=A4[0], height=A4[1])
    pdf.showPage()
    pdf.save()
    return path
