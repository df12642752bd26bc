"""Turn highlight spans into text segments that a template renders (escaped) with <mark>.

Nothing here produces HTML: templates get ``(text, marked)`` pairs and Jinja's autoescape
escapes every piece, so case text holding markup is shown as text.
"""

from __future__ import annotations

from collections.abc import Iterable

Segment = tuple[str, bool]


def merge_spans(spans: Iterable[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    """Sorted, clipped to the text, overlapping or touching spans joined."""
    clean = sorted((max(0, int(s)), min(length, int(e))) for s, e in spans if int(e) > int(s))
    out: list[tuple[int, int]] = []
    for start, end in clean:
        if start >= end:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def segments(text: str, spans: Iterable[tuple[int, int]]) -> list[Segment]:
    out: list[Segment] = []
    pos = 0
    for start, end in merge_spans(spans, len(text)):
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def segment_lines(text: str, spans: Iterable[tuple[int, int]]) -> list[list[Segment]]:
    """Like :func:`segments`, split at newlines (list fields are joined by ``\\n``)."""
    lines: list[list[Segment]] = [[]]
    for chunk, marked in segments(text, spans):
        parts = chunk.split("\n")
        for i, part in enumerate(parts):
            if i:
                lines.append([])
            if part:
                lines[-1].append((part, marked))
    return [line for line in lines if line]
