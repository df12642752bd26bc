"""The text layer of a PDF, page by page, as the report parsers read it.

pdfminer.six is used rather than pypdf because its layout analysis puts the text of a
two-column page in reading order (left column, then right); pypdf follows the drawing
order, which interleaves the columns when a PDF draws them line by line
(``tests/corpus/test_pdf_import.py`` builds such a page). Pages are joined with a form
feed, as ``pdftotext`` writes them, so the parsers find page breaks the same way in a
PDF and in a text someone extracted themselves.

What a PDF can be instead of a report, each one :class:`PdfTextError` with one clear
sentence: not a PDF at all, encrypted with a password, or without a text layer (a scan).
"""

from __future__ import annotations

from pathlib import Path

from kizuki.corpus.exceptions import KizukiError

#: A report runs to about 60 pages; more is not a report, and reading it is not bounded.
MAX_PAGES = 400
#: A page of text holds hundreds of characters; a scan's stray text layer holds a few.
MIN_TEXT_CHARS = 20


class PdfTextError(KizukiError, ValueError):
    """A PDF whose text cannot be read (encrypted, scanned, damaged, too long)."""


def is_pdf(path: str | Path) -> bool:
    """True when the file starts like a PDF, whatever its name."""
    with open(path, "rb") as handle:
        return handle.read(1024).lstrip().startswith(b"%PDF-")


def pdf_text(path: str | Path, max_pages: int = MAX_PAGES) -> str:
    """The text of every page, pages separated by form feeds (``\\f``)."""
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LAParams, LTTextContainer
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError
    from pdfminer.psparser import PSException

    pages: list[str] = []
    try:
        for number, page in enumerate(extract_pages(str(path), laparams=LAParams()), start=1):
            if number > max_pages:
                raise PdfTextError(f"more than {max_pages} pages: not a report")
            boxes = [el.get_text() for el in page if isinstance(el, LTTextContainer)]
            pages.append("".join(boxes).rstrip("\n"))
    except PDFPasswordIncorrect:
        raise PdfTextError(
            "the PDF is encrypted with a password: open it, save an unprotected copy, "
            "and import that"
        ) from None
    except PDFEncryptionError as exc:
        raise PdfTextError(f"the PDF's encryption is not supported ({exc})") from None
    except (PDFSyntaxError, PSException) as exc:
        raise PdfTextError(f"not a readable PDF ({exc})") from None
    text = "\n\f".join(pages)
    if len("".join(text.split())) < MIN_TEXT_CHARS:
        raise PdfTextError(
            f"the PDF has no text layer ({len(pages)} pages of images, a scan?): "
            "run OCR on it first, or import the text"
        )
    return text
