"""Moderation's blurred copies: the marked region becomes unreadable, the rest stays, the whole photo can
be blurred, bad regions are refused in the reader's language, and the copy carries no metadata.

Every image is drawn with Pillow in the test itself.
"""
from __future__ import annotations

import hashlib
import io

import pytest
from flask_babel import force_locale
from PIL import ExifTags, Image, ImageChops, ImageStat

from portal.photo_redaction import RegionRefused, redacted_copy
from portal.photos import MAX_EDGE, THUMBNAIL_EDGE, PhotoRejected, inspect_and_clean

SIZE = (800, 600)
# The "number plate": a black and white checkerboard in this region (fractions x, y, w, h).
PLATE = (0.1, 0.2, 0.3, 0.25)
PLATE_PIXELS = (80, 120, 320, 270)
OUTSIDE_PIXELS = (420, 0, 800, 600)  # the right half, far from the plate
CANARY = "RESIDENT-CANARY-ZHANG-SAN-13800138000"


def jpeg(image: Image.Image, **options) -> bytes:
    """The image as JPEG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95, **options)
    return buffer.getvalue()


def scene() -> Image.Image:
    """A soft gradient (the street) with a high-contrast checkerboard (the plate) in PLATE."""
    image = Image.linear_gradient("L").resize(SIZE).convert("RGB")
    left, top, right, bottom = PLATE_PIXELS
    for x in range(left, right, 8):
        for y in range(top, bottom, 8):
            if (x // 8 + y // 8) % 2:
                image.paste((0, 0, 0), (x, y, min(x + 8, right), min(y + 8, bottom)))
            else:
                image.paste((255, 255, 255), (x, y, min(x + 8, right), min(y + 8, bottom)))
    return image


@pytest.fixture
def stored():
    """The scene as the portal stores a photo: cleaned by the photo pipeline."""
    return inspect_and_clean(jpeg(scene())).image


def opened(data: bytes) -> Image.Image:
    """Decoded pixels of JPEG bytes."""
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("L")


def variance(image: Image.Image, box) -> float:
    """The pixel variance of a region."""
    return ImageStat.Stat(image.crop(box)).var[0]


def mean_difference(first: Image.Image, second: Image.Image, box) -> float:
    """How far two images differ in a region, on average per pixel (0–255)."""
    return ImageStat.Stat(ImageChops.difference(first.crop(box), second.crop(box))).mean[0]


def test_a_blurred_region_loses_its_detail_and_the_rest_is_unchanged(stored):
    copy = redacted_copy(stored, [PLATE], zone="Asia/Shanghai")

    before, after = opened(stored), opened(copy.image)
    assert variance(before, PLATE_PIXELS) > 10_000  # the checkerboard: black and white
    assert variance(after, PLATE_PIXELS) < variance(before, PLATE_PIXELS) / 100
    assert mean_difference(before, after, OUTSIDE_PIXELS) < 1.5  # only re-encoding noise


def test_pixelation_also_destroys_the_detail(stored):
    copy = redacted_copy(stored, [PLATE], zone="Asia/Shanghai", method="pixelate")

    before, after = opened(stored), opened(copy.image)
    assert variance(after, PLATE_PIXELS) < variance(before, PLATE_PIXELS) / 10
    assert mean_difference(before, after, OUTSIDE_PIXELS) < 1.5


def test_the_whole_photo_can_be_blurred(stored):
    copy = redacted_copy(stored, None, zone="Asia/Shanghai")

    before, after = opened(stored), opened(copy.image)
    assert variance(after, PLATE_PIXELS) < variance(before, PLATE_PIXELS) / 100
    assert mean_difference(before, after, OUTSIDE_PIXELS) > 0.2  # the gradient is touched too
    unblurred = inspect_and_clean(stored).thumbnail
    assert ImageStat.Stat(opened(copy.thumbnail)).var[0] < ImageStat.Stat(opened(unblurred)).var[0]


def test_the_copy_has_the_form_of_every_stored_photo_and_the_original_is_untouched(stored):
    original = bytes(stored)
    copy = redacted_copy(stored, [PLATE, (0.9, 0.9, 0.1, 0.1)], zone="Asia/Shanghai")

    assert stored == original
    assert copy.image != stored
    assert (copy.width, copy.height) == SIZE and copy.content_type == "image/jpeg"
    with Image.open(io.BytesIO(copy.thumbnail)) as thumbnail:
        assert thumbnail.format == "JPEG" and max(thumbnail.size) == THUMBNAIL_EDGE
    assert copy.sha256 == hashlib.sha256(copy.image).hexdigest()


def test_a_large_photo_comes_back_at_the_stored_size(stored):
    big = inspect_and_clean(jpeg(scene().resize((4000, 3000))))
    copy = redacted_copy(big.image, [PLATE], zone="Asia/Shanghai")
    assert (copy.width, copy.height) == (big.width, big.height) == (MAX_EDGE, MAX_EDGE * 3 // 4)


def test_the_copy_carries_no_exif_even_from_an_input_that_had_some():
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = CANARY
    exif[ExifTags.Base.Make] = "Xiaomi"
    with_exif = jpeg(scene(), exif=exif)
    assert CANARY.encode() in with_exif

    copy = redacted_copy(with_exif, [PLATE], zone="Asia/Shanghai")

    for data in (copy.image, copy.thumbnail):
        assert CANARY.encode() not in data and b"Exif" not in data and b"Xiaomi" not in data
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
    assert copy.gps is None and copy.taken_at is None


@pytest.mark.parametrize("regions", [
    [],
    [(0.5, 0.5, 0.6, 0.1)],  # runs off the right edge
    [(0.1, 0.1, 0.0, 0.2)],  # no width
    [(-0.1, 0.1, 0.2, 0.2)],
    [(0.1, 0.1, 0.2)],
    [(0.1, 0.1, 0.2, "0.2")],
    [(0.1, 0.1, float("nan"), 0.2)],
    [(True, 0.1, 0.2, 0.2)],
    "0.1,0.1,0.2,0.2",
    [(0.1, 0.1, 0.1, 0.1)] * 51,
])
def test_bad_regions_are_refused_with_a_clear_message(app, stored, regions):
    with pytest.raises(RegionRefused) as refusal:
        redacted_copy(stored, regions, zone="Asia/Shanghai")
    assert isinstance(refusal.value, ValueError) and refusal.value.reason == "bad_region"
    with app.test_request_context():
        assert "区域" in str(refusal.value)
        with force_locale("en"):
            assert "region" in str(refusal.value).lower()


def test_a_region_at_the_very_edge_is_accepted(stored):
    copy = redacted_copy(stored, [(0.7, 0.7, 0.30000000000000004, 0.3)], zone="Asia/Shanghai")
    assert variance(opened(copy.image), (560, 420, 800, 600)) < variance(opened(stored), (560, 420, 800, 600))


def test_bytes_that_are_not_a_photo_are_refused():
    with pytest.raises(PhotoRejected):
        redacted_copy(b"<html>not a photo</html>", None, zone="Asia/Shanghai")
