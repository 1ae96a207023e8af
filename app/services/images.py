"""Image re-encoding within a memory budget: size checked from the header before decoding,
JPEGs decoded at reduced scale, one decode at a time per worker, memory given back after."""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
from PIL import Image, ImageCms, ImageDraw, ImageOps

from app.storage import disk_full

log = logging.getLogger("arigato.images")

# Decompression bombs: a small file that decodes to gigabytes. Pillow refuses twice this
# outright (DecompressionBombError) and only warns between; `_open` checks it explicitly.
MAX_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# What one decode may take, counted as Pillow stores pixels (4 bytes for RGB as well as
# RGBA) plus decoder buffers. The pipeline holds at most about two images of this size at
# once, and SPEC §8 gives a whole worker 200 MB.
DECODE_MAX_BYTES = 48 * 1024 * 1024
# The stored image's long edge at most: enough for any screen.
MAIN_MAX_EDGE = 4096
# A JPEG is decoded at the smallest scale that keeps this long edge: a 24 MP photo at 1/2
# (3000 px, 24 MB) instead of whole (96 MB).
DRAFT_EDGE = MAIN_MAX_EDGE // 2
THUMBNAIL_SIZE = 480
JPEG_QUALITY = 85
WEBP_QUALITY = 85

# One decode at a time per worker: four large photos at once then need the memory of one.
# (anyio binds its internal state lazily, so one module-level limiter serves any loop.)
DECODE_LIMITER = anyio.CapacityLimiter(1)


class Refused(Exception):
    """The image cannot be decoded safely; answered with 415."""


class TooManyPixels(Exception):
    """Decoding would need more memory than the budget; answered with 413."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(f"{width}x{height}")
        self.width = width
        self.height = height


@dataclass
class Processed:
    main: Path
    thumbnail: Path
    thumbnail_ext: str
    width: int
    height: int
    size: int


def _bytes_per_pixel(mode: str) -> int:
    if mode in ("1", "L", "P"):
        return 1
    if mode.startswith("I;16"):
        return 2
    return 4  # RGB is stored as RGBX; LA, RGBA, CMYK, I, F likewise take 4 bytes


def _fit(width: int, height: int, edge: int) -> tuple[int, int]:
    scale = edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode_cost(img: Image.Image) -> int:
    """Bytes the decode of `img` (opened, not loaded) will take. For a JPEG larger than the
    stored size this first asks the decoder for a reduced scale (which changes img.size)."""
    full_w, full_h = img.size
    extra = 0
    if img.format == "JPEG":
        if max(full_w, full_h) > MAIN_MAX_EDGE:
            img.draft(None, _fit(full_w, full_h, DRAFT_EDGE))
        if img.info.get("progressive") or img.info.get("progression"):
            # libjpeg keeps every DCT coefficient (2 bytes each) of a progressive file at
            # full resolution, whatever the output scale.
            layers = getattr(img, "layer", None) or [(0, 1, 1, 0)] * len(img.getbands())
            h_max = max(layer[1] for layer in layers)
            v_max = max(layer[2] for layer in layers)
            extra = sum(
                2 * math.ceil(full_w * layer[1] / h_max) * math.ceil(full_h * layer[2] / v_max)
                for layer in layers
            )
    width, height = img.size
    decoded = width * height * _bytes_per_pixel(img.mode)
    if img.format == "WEBP":
        decoded *= 2  # libwebp decodes into its own buffer, which Pillow then copies
    return decoded + extra


def _open(source: Path, fmt: str) -> Image.Image:
    try:
        img = Image.open(source, formats=[fmt])
    except Image.DecompressionBombError:
        raise TooManyPixels(0, 0) from None
    width, height = img.size
    if img.format != fmt:
        img.close()
        raise Refused()
    if width * height > MAX_PIXELS or decode_cost(img) > DECODE_MAX_BYTES:
        img.close()
        raise TooManyPixels(width, height)
    return img


def check_decodable(source: Path, fmt: str) -> None:
    """Raise TooManyPixels (or Refused) from the header alone, before anything is written:
    no pixel is decoded."""
    _open(source, fmt).close()


_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(img: Image.Image) -> Image.Image:
    """Apply an embedded colour profile (e.g. Display P3 from phones), so dropping it keeps
    the colours; an unusable profile is just dropped."""
    icc = img.info.get("icc_profile")
    if not icc or img.mode not in ("RGB", "RGBA", "CMYK"):
        return img
    try:
        converted = ImageCms.profileToProfile(
            img,
            ImageCms.ImageCmsProfile(io.BytesIO(icc)),
            _SRGB,
            outputMode="RGBA" if img.mode == "RGBA" else "RGB",
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return img
    return converted if converted is not None else img


def _normalise_mode(img: Image.Image, pil_format: str) -> Image.Image:
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    if pil_format == "JPEG":
        return img if img.mode in ("RGB", "L") else img.convert("RGB")
    if pil_format == "PNG":
        if has_alpha and img.mode not in ("RGBA", "LA"):
            return img.convert("RGBA")  # palette or colour-key transparency lives in info
        if img.mode in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            return img
        return img.convert("RGB")
    return img.convert("RGBA" if has_alpha else "RGB")  # WebP


def _upright(img: Image.Image) -> None:
    try:
        ImageOps.exif_transpose(img, in_place=True)  # a copy only when it must turn
    except (SyntaxError, ValueError, KeyError, TypeError):  # unreadable EXIF
        pass


def _decode(source: Path, fmt: str) -> Image.Image:
    """The upright, sRGB, normalised image at most MAIN_MAX_EDGE wide and high. Each step
    rebinds `img`, so at most two full-size images are alive at any moment."""
    img = _open(source, fmt)
    try:
        img.load()  # closes the file once read
    except BaseException:
        img.close()
        raise
    _upright(img)
    img = _normalise_mode(_to_srgb(img), fmt)
    if max(img.size) > MAIN_MAX_EDGE:
        img.thumbnail((MAIN_MAX_EDGE, MAIN_MAX_EDGE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return img


def process_image(source: Path, fmt: str, ext: str, workdir: Path) -> Processed:
    """Decode, rotate upright, and write a fresh file and a thumbnail with no metadata.
    Runs in a worker thread (under DECODE_LIMITER)."""
    return _write_decoded(source, fmt, ext, workdir, None)


def mask_image(
    source: Path, fmt: str, ext: str, workdir: Path, boxes: list[tuple[int, int, int, int]]
) -> Processed:
    """A stored image with black boxes (x0, y0, x1, y1, in its pixels) drawn over it,
    re-encoded like an upload (a fresh file and thumbnail, no metadata): the covered pixels
    exist nowhere in the result. Runs in a worker thread (under DECODE_LIMITER)."""
    return _write_decoded(source, fmt, ext, workdir, boxes)


def _write_decoded(
    source: Path,
    fmt: str,
    ext: str,
    workdir: Path,
    boxes: list[tuple[int, int, int, int]] | None,
) -> Processed:
    try:
        img = _decode(source, fmt)
        if boxes:
            draw = ImageDraw.Draw(img)
            for box in boxes:
                draw.rectangle(box, fill="black")
            del draw
        # Nothing of the original's metadata survives: EXIF (with GPS), XMP, ICC, comments,
        # PNG text chunks. Pillow only writes what is in `info` or passed to save().
        img.info.clear()
        main = workdir / f"main.{ext}"
        if fmt == "JPEG":
            img.save(main, "JPEG", quality=JPEG_QUALITY, optimize=True, progressive=True)
        elif fmt == "PNG":
            img.save(main, "PNG")
        else:
            img.save(main, "WEBP", quality=WEBP_QUALITY, method=4)
        width, height = img.size

        thumb = img
        if max(width, height) > THUMBNAIL_SIZE:
            thumb = img.resize(
                _fit(width, height, THUMBNAIL_SIZE), Image.Resampling.LANCZOS, reducing_gap=3.0
            )
        del img
        # Transparent images get a WebP thumbnail (keeps the alpha), the rest a JPEG.
        if thumb.mode in ("RGBA", "LA"):
            thumb_ext = "webp"
            thumb = thumb.convert("RGBA")
            thumb.info.clear()
            thumb_path = workdir / "thumb.webp"
            thumb.save(thumb_path, "WEBP", quality=80, method=4)
        else:
            thumb_ext = "jpg"
            thumb = thumb.convert("RGB")
            thumb.info.clear()
            thumb_path = workdir / "thumb.jpg"
            thumb.save(thumb_path, "JPEG", quality=80, optimize=True)
        return Processed(main, thumb_path, thumb_ext, width, height, main.stat().st_size)
    except (Refused, TooManyPixels):
        raise
    except OSError as exc:
        if disk_full(exc):
            raise
        log.info("image refused: %s: %s", type(exc).__name__, exc)
        raise Refused() from exc
    except Exception as exc:  # UnidentifiedImageError, truncated, bad data...
        log.info("image refused: %s: %s", type(exc).__name__, exc)
        raise Refused() from exc
    finally:
        release_memory()


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc
        return None


_TRIM = _malloc_trim()


def release_memory() -> None:
    """Give freed memory back to the system. glibc keeps what a big decode freed in its
    arenas (one per thread), so without this a worker stays at its peak for good."""
    if _TRIM is not None:
        _TRIM(0)
