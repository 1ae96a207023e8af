"""Tesseract (with its Japanese data) through pytesseract. Runs in worker threads, never in
a request: one call at a time per process (pytesseract keeps the command in a module
global, and a photo is read by one Tesseract process at a time anyway)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import pytesseract
from PIL import Image

LANGUAGE = "jpn"
# Small photos are read at twice their size: Tesseract wants text about 30 px high.
UPSCALE_BELOW = 1500
TIMEOUT_S = 120

_LOCK = threading.Lock()


class Unavailable(Exception):
    """Tesseract, or its Japanese data, is not installed where the setting points."""


@dataclass(frozen=True)
class Availability:
    ok: bool
    version: str = ""
    problem: str = ""  # why not (technical, for the administrator's status line)


@dataclass(frozen=True)
class Word:
    text: str
    line: tuple[int, int, int]  # (block, paragraph, line) as Tesseract numbers them
    left: int
    top: int
    width: int
    height: int


def availability(command: str) -> Availability:
    """Whether `command` runs Tesseract and has the Japanese data (blocking: a thread)."""
    with _LOCK:
        pytesseract.pytesseract.tesseract_cmd = command
        try:
            version = str(pytesseract.get_tesseract_version())
            languages = pytesseract.get_languages()
        except (pytesseract.TesseractNotFoundError, OSError) as exc:
            return Availability(False, problem=f"{command}: {type(exc).__name__}")
        except pytesseract.TesseractError as exc:
            return Availability(False, problem=f"{command}: {exc.message}"[:200])
    if LANGUAGE not in languages:
        return Availability(False, version, f"no '{LANGUAGE}' language data")
    return Availability(True, version)


def read_words(command: str, path: Path) -> list[Word]:
    """Every word Tesseract reads in the image at `path`, with its box in the image's own
    pixels. Raises Unavailable without Tesseract or its Japanese data."""
    with Image.open(path) as opened:  # reads the header only
        size = opened.size
    scale = 2 if max(size) < UPSCALE_BELOW else 1
    # A large image goes to Tesseract as its file, never decoded in this process (a stored
    # photo is up to 4096 px a side: ~50 MB decoded, beside the worker's 250 MB budget); a
    # small one is enlarged here first, which Tesseract reads better.
    source: Image.Image | str = str(path)
    if scale != 1:
        with Image.open(path) as opened:
            small = opened.convert("L")
        source = small.resize((small.width * scale, small.height * scale), Image.Resampling.LANCZOS)
    with _LOCK:
        pytesseract.pytesseract.tesseract_cmd = command
        try:
            data = pytesseract.image_to_data(
                source, lang=LANGUAGE, output_type=pytesseract.Output.DICT, timeout=TIMEOUT_S
            )
        except (pytesseract.TesseractNotFoundError, FileNotFoundError) as exc:
            raise Unavailable(type(exc).__name__) from exc
        except pytesseract.TesseractError as exc:
            if "Failed loading language" in exc.message or "jpn" in exc.message:
                raise Unavailable(exc.message[:200]) from exc
            raise
    words = []
    for i, text in enumerate(data["text"]):
        if not str(text).strip():
            continue
        words.append(
            Word(
                str(text).strip(),
                (int(data["block_num"][i]), int(data["par_num"][i]), int(data["line_num"][i])),
                int(data["left"][i]) // scale,
                int(data["top"][i]) // scale,
                -(-int(data["width"][i]) // scale),
                -(-int(data["height"][i]) // scale),
            )
        )
    return words
