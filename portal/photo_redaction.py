"""Moderation of a report's photos: a blurred (or pixelated) copy for the public, the original kept.

Staff mark regions (faces, number plates, a house number) as fractions of the photo, or the whole
photo; ``redacted_copy`` returns a new photo in the same form ``portal.photos.inspect_and_clean``
gives every stored photo (JPEG without metadata, its thumbnail, size and digest) — it is made by that
same function, from a lossless intermediate, so there is one way a photo is encoded. The original's
bytes are only read; the caller stores the copy under its own keys (``ReportPhoto.public_key``).

The blur is meant to destroy, not to soften: its radius grows with the photo (a fortieth of the long
edge, at least 8 pixels), and a region is first reduced to coarse blocks, so nothing of a face or a
plate can be read back. Pixelation alone (``method="pixelate"``) gives the familiar mosaic.
"""
from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import tzinfo

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFilter

from portal.photos import DEFAULT_ZONE, MAX_PIXELS, CleanPhoto, PhotoRejected, check_before_decoding, inspect_and_clean

Region = tuple[float, float, float, float]  # x, y, width, height as fractions of the image, 0..1
METHODS = ("blur", "pixelate")
MAX_REGIONS = 50
# Blocks and blur radius as a share of the photo's long edge: a 2560-pixel photo gets 64-pixel ones.
STRENGTH = 1 / 40
MIN_RADIUS = 8
# Rounding room for fractions that a browser computed (0.30000000000000004 + 0.7).
TOLERANCE = 1e-6


class RegionRefused(PhotoRejected):
    """The regions to blur are not regions of the photo; ``message`` says why (a lazy translation)."""

    def __init__(self, message):
        super().__init__(message, "bad_region")


def redacted_copy(image_bytes: bytes, regions: Sequence[Region] | None, *, zone: str | tzinfo = DEFAULT_ZONE,
                  method: str = "blur") -> CleanPhoto:
    """A new clean photo with ``regions`` (None: the whole photo) blurred or pixelated; the input untouched.

    Raises ``RegionRefused`` for regions outside 0..1, empty or too many, and ``PhotoRejected`` for
    bytes that are not a photo.
    """
    if method not in METHODS:
        raise ValueError(f"unknown redaction method {method!r}; one of {METHODS}")
    boxes = _checked(regions)
    check_before_decoding(image_bytes, max_bytes=len(image_bytes) or 1, max_pixels=MAX_PIXELS)
    with Image.open(io.BytesIO(image_bytes)) as opened:
        image = opened.convert("RGB")
    edge = max(image.size)
    for box in ([(0.0, 0.0, 1.0, 1.0)] if boxes is None else boxes):
        area = _pixels(box, image.size)
        image.paste(_obscure(image.crop(area), edge, method), area[:2])
    # PNG keeps the pixels exact until the photo pipeline encodes them, once, as every stored photo is.
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    lossless = buffer.getvalue()
    return inspect_and_clean(lossless, max_bytes=len(lossless), zone=zone)


def _checked(regions: Sequence[Region] | None) -> list[Region] | None:
    """The regions as tuples of floats, or RegionRefused saying what is wrong with them."""
    if regions is None:
        return None
    if isinstance(regions, (str, bytes)) or not isinstance(regions, Sequence) or not regions:
        raise RegionRefused(_l("请至少选择一个要遮挡的区域，或选择整张模糊。"))
    if len(regions) > MAX_REGIONS:
        raise RegionRefused(_l("遮挡区域过多（最多 %(limit)s 个）。", limit=MAX_REGIONS))
    checked = []
    for region in regions:
        try:
            x, y, width, height = (_fraction(value) for value in region)
        except (TypeError, ValueError):
            raise RegionRefused(_l("遮挡区域应为 4 个数：左、上、宽、高（占图片的比例，0–1）。")) from None
        if (min(x, y) < 0 or width <= 0 or height <= 0
                or x + width > 1 + TOLERANCE or y + height > 1 + TOLERANCE):
            raise RegionRefused(_l("遮挡区域超出了图片范围，或宽、高为零。"))
        checked.append((x, y, min(width, 1 - x), min(height, 1 - y)))
    return checked


def _fraction(value) -> float:
    """A finite number (booleans and text are not); ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


def _pixels(region: Region, size: tuple[int, int]) -> tuple[int, int, int, int]:
    """The region in pixels, rounded outwards so that it covers at least what was marked (never empty)."""
    width, height = size
    x, y, w, h = region
    left, top = min(math.floor(x * width), width - 1), min(math.floor(y * height), height - 1)
    right, bottom = max(math.ceil((x + w) * width), left + 1), max(math.ceil((y + h) * height), top + 1)
    return left, top, min(right, width), min(bottom, height)


def _obscure(area: Image.Image, edge: int, method: str) -> Image.Image:
    """The area made unreadable: reduced to blocks of a fortieth of the photo's long edge, then blurred."""
    block = max(MIN_RADIUS, round(edge * STRENGTH))
    small = (max(1, math.ceil(area.width / block)), max(1, math.ceil(area.height / block)))
    mosaic = area.resize(small, Image.Resampling.BOX).resize(area.size, Image.Resampling.NEAREST)
    if method == "pixelate":
        return mosaic
    return mosaic.filter(ImageFilter.GaussianBlur(radius=block))
