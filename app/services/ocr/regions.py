"""From OCR words to the regions of a photo to black out: words are put back into lines
(Japanese words joined without a space, a space between two Latin or digit words), each line
goes through the personal-data scanner (services/pii), and each finding becomes the box
around the words it touches. Pure functions; no text is kept, only boxes and kinds."""

from __future__ import annotations

import json
from dataclasses import dataclass
from itertools import groupby

from app.services.ocr.reader import Word
from app.services.pii import find_personal_data


@dataclass(frozen=True)
class Region:
    left: int
    top: int
    width: int
    height: int
    kind: str  # a pii kind: phone, postal_code, customer_name, ...

    def padded(self, image_width: int, image_height: int) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) with a margin of a quarter of the text's height, inside the image:
        a black box that covers the characters' edges, whatever OCR's box cut."""
        pad = max(4, self.height // 4)
        return (
            max(0, self.left - pad),
            max(0, self.top - pad),
            min(image_width, self.left + self.width + pad),
            min(image_height, self.top + self.height + pad),
        )


def _joiner(before: str, after: str) -> str:
    ascii_edge = before[-1:].isascii() and after[:1].isascii()
    return " " if ascii_edge and before[-1:].isalnum() and after[:1].isalnum() else ""


def find_regions(words: list[Word]) -> list[Region]:
    """The regions holding personal data, in reading order."""
    regions: list[Region] = []
    for _line, group in groupby(words, key=lambda w: w.line):
        line_words = list(group)
        text = ""
        spans: list[tuple[int, int]] = []  # each word's [start, end) in `text`
        for word in line_words:
            if text:
                text += _joiner(text, word.text)
            spans.append((len(text), len(text) + len(word.text)))
            text += word.text
        for found in find_personal_data(text):
            touched = [
                w
                for w, (start, end) in zip(line_words, spans, strict=True)
                if start < found.end and found.start < end
            ]
            left = min(w.left for w in touched)
            top = min(w.top for w in touched)
            right = max(w.left + w.width for w in touched)
            bottom = max(w.top + w.height for w in touched)
            regions.append(Region(left, top, right - left, bottom - top, found.kind))
    return regions


def dump(regions: list[Region]) -> str:
    return json.dumps([[r.left, r.top, r.width, r.height, r.kind] for r in regions])


def load(stored: str | None) -> list[Region]:
    rows = json.loads(stored or "[]")
    return [Region(int(a), int(b), int(c), int(d), str(k)) for a, b, c, d, k in rows]
