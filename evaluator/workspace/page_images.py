"""Page images with evidence highlighted, for the review app and the HTML export.

``page_image`` draws the evidence boxes (PDF points, origin top-left, as pdfplumber reports them) on a
rendered page and returns PNG bytes. With a ``cache_dir`` the PNG is kept, keyed by the document's
sha256, the page, the boxes and the rendering options, so a page is rendered once. The cache is
size-bounded (``PAGE_CACHE_BYTES``; the least recently used images are removed first), and an image
never exceeds ``MAX_PIXELS`` (a huge page is drawn at a lower resolution). Pages are drawn in a
memory-capped child process (``evaluator.limits``), never in the review app's own process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from evaluator.errors import InputError
from evaluator.files import atomic_write, file_sha256
from evaluator.limits import run_isolated
from evaluator.types import BBox

FILL = (255, 230, 0, 90)
STROKE = (230, 120, 0)
MAX_BOXES = 20
CROP_MARGIN = 48.0  # points of context kept above and below the boxes when cropping
MAX_PIXELS = 4_000_000  # per image: an A4 page at 100 dpi is about 1 million
PAGE_CACHE_BYTES = 200 * 1024 * 1024  # rendered images kept per workspace


def cache_key(sha256: str, page_number: int, boxes: Sequence[BBox], *, resolution: int, crop: bool) -> str:
    spec = json.dumps([[round(v, 1) for v in b] for b in boxes] + [resolution, crop])
    return f"{sha256}-p{page_number}-{hashlib.sha256(spec.encode()).hexdigest()[:16]}.png"


def page_image(
    pdf_path: str | os.PathLike,
    page_number: int,
    boxes: Sequence[BBox],
    *,
    resolution: int = 100,
    crop: bool = False,
    cache_dir: Path | None = None,
    sha256: str | None = None,
) -> bytes:
    """PNG of one page (1-based) with ``boxes`` highlighted; ``crop`` keeps only the band around them."""
    path = Path(pdf_path)
    boxes = [(float(b[0]), float(b[1]), float(b[2]), float(b[3])) for b in boxes][:MAX_BOXES]
    cached = None
    if cache_dir is not None:
        key = cache_key(sha256 or _file_sha256(path), page_number, boxes, resolution=resolution, crop=crop)
        cached = Path(cache_dir) / key
        with contextlib.suppress(OSError):  # a hit: read it and mark it recently used
            png = cached.read_bytes()
            os.utime(cached)
            return png
    if not path.is_file():
        raise InputError(
            f"The PDF {path} is no longer there, so its pages cannot be shown. "
            "Put it back at that path, or re-screen it from its new place."
        )
    png = run_isolated(
        _render, (path, page_number, boxes), {"resolution": resolution, "crop": crop}, subject=str(path)
    )
    if cached is not None:
        atomic_write(cached, png)  # concurrent renders of the same key never see half a file
        evict(cached.parent, PAGE_CACHE_BYTES)
    return png


def evict(folder: Path, limit: int) -> None:
    """Remove the least recently used images until the folder's PNGs total at most ``limit`` bytes."""
    entries = []
    for entry in os.scandir(folder):
        if entry.name.endswith(".png"):
            with contextlib.suppress(OSError):
                info = entry.stat()
                entries.append((info.st_mtime, info.st_size, entry.path))
    total = sum(size for _, size, _ in entries)
    for _, size, name in sorted(entries):
        if total <= limit:
            break
        with contextlib.suppress(OSError):  # another process may have removed it already
            os.unlink(name)
        total -= size


def _render(path: Path, page_number: int, boxes: list[BBox], *, resolution: int, crop: bool) -> bytes:
    import pdfplumber  # pdfminer import is slow; only pay for it when rendering

    try:
        pdf = pdfplumber.open(path)
    except Exception as exc:  # pdfminer raises many types for damaged files
        raise InputError(f"Cannot open {path} to draw its page: {exc}. Re-screen the document.") from None
    with pdf:
        if not 1 <= page_number <= len(pdf.pages):
            raise InputError(f"{path} has {len(pdf.pages)} pages; there is no page {page_number}.")
        page = pdf.pages[page_number - 1]
        boxes = [_clip(b, page.bbox) for b in boxes]
        boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
        if crop and boxes:
            top = max(page.bbox[1], min(b[1] for b in boxes) - CROP_MARGIN)
            bottom = min(page.bbox[3], max(b[3] for b in boxes) + CROP_MARGIN)
            page = page.crop((page.bbox[0], top, page.bbox[2], bottom))
        pixels = (page.width * resolution / 72) * (page.height * resolution / 72)
        if pixels > MAX_PIXELS:  # a huge page (up to 14,400 pt square): draw it smaller, not bigger
            resolution = max(1, int(resolution * math.sqrt(MAX_PIXELS / pixels)))
        image = page.to_image(resolution=resolution)
        if boxes:
            image.draw_rects(boxes, fill=FILL, stroke=STROKE, stroke_width=2)
        out = BytesIO()
        image.annotated.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _clip(box: BBox, bounds: tuple[float, float, float, float]) -> BBox:
    x0, top, x1, bottom = bounds
    return (max(box[0], x0), max(box[1], top), min(box[2], x1), min(box[3], bottom))


def _file_sha256(path: Path) -> str:
    if not path.is_file():
        raise InputError(
            f"The PDF {path} is no longer there. Put it back, or re-screen it from its new place."
        )
    return file_sha256(path)


def parse_box(value: str) -> BBox:
    """``"x0,top,x1,bottom"`` -> a box of finite, non-negative floats (ValueError otherwise)."""
    parts = [float(p) for p in value.split(",")]
    if len(parts) != 4 or not all(0 <= p < 1e5 for p in parts):  # also rejects nan and inf
        raise ValueError(f"bad box {value!r}: expected x0,top,x1,bottom in points")
    if parts[2] < parts[0] or parts[3] < parts[1]:
        raise ValueError(f"bad box {value!r}: x1 must be >= x0 and bottom >= top")
    return (parts[0], parts[1], parts[2], parts[3])


def box_param(box: Sequence[float] | None) -> str:
    return ",".join(f"{v:.1f}" for v in box) if box else ""
