"""Citizens' photos: what is accepted and refused, what is suggested, what is stripped, and where files go.

Every image here is drawn with Pillow (or pillow-heif) in the test itself; no image file is committed.
"""
from __future__ import annotations

import io
import os
import struct
import time
import zipfile
import zlib
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from PIL import ExifTags, Image, ImageCms
from PIL.TiffImagePlugin import IFDRational

from portal import photos
from portal.photos import FileSystemStorage, PhotoRejected, inspect_and_clean, staged_photos

CANARY = "RESIDENT-CANARY-张三-13800138000"
SHANGHAI = ZoneInfo("Asia/Shanghai")


# Building test images ------------------------------------------------------------------------------

def encode(image: Image.Image, format: str = "JPEG", **options) -> bytes:
    """The image saved in ``format``, as bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format=format, **options)
    return buffer.getvalue()


def halves(size=(64, 48), left=(255, 0, 0), right=(0, 0, 255), mode="RGB") -> Image.Image:
    """An image whose left half is one colour and right half another, so rotations can be seen."""
    image = Image.new(mode, size, right)
    image.paste(left, (0, 0, size[0] // 2, size[1]))
    return image


def dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    """Decimal degrees as EXIF degrees, minutes and seconds (rationals, seconds to 1/100)."""
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 100)
    return IFDRational(degrees), IFDRational(minutes), IFDRational(seconds, 100)


def camera_exif(lat=52.0301, lon=123.5701, lat_ref="N", lon_ref="E", taken="2026:05:01 14:30:00",
                offset=None, orientation=None) -> Image.Exif:
    """EXIF as a phone writes it: a GPS fix, the time the photo was taken, orientation, the owner's name."""
    exif = Image.Exif()
    exif[ExifTags.Base.Artist] = CANARY
    exif[ExifTags.Base.Make] = "Xiaomi"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if lat is not None:
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = lat_ref
        gps[ExifTags.GPS.GPSLatitude] = dms(lat)
        gps[ExifTags.GPS.GPSLongitudeRef] = lon_ref
        gps[ExifTags.GPS.GPSLongitude] = dms(lon)
    details = exif.get_ifd(ExifTags.IFD.Exif)
    if taken:
        details[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        details[ExifTags.Base.OffsetTimeOriginal] = offset
    return exif


def srgb_icc() -> bytes:
    """An ICC profile to embed (sRGB, so colours can be compared)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def display_p3_icc() -> bytes:
    """A minimal ICC v2 matrix/TRC profile with Display P3's primaries (the colour space of iPhone photos)."""
    def s15(value):
        return struct.pack(">i", round(value * 65536))

    def xyz(x, y, z):
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    name = b"Display P3 (test)\0"
    gamma = b"curv\0\0\0\0" + struct.pack(">IH", 1, round(2.2 * 256)) + b"\0\0"
    tags = [
        (b"desc", b"desc\0\0\0\0" + struct.pack(">I", len(name)) + name + b"\0" * 78),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.5151, 0.2412, -0.0011)),
        (b"gXYZ", xyz(0.2920, 0.6922, 0.0419)),
        (b"bXYZ", xyz(0.1571, 0.0666, 0.7841)),
        (b"rTRC", gamma), (b"gTRC", gamma), (b"bTRC", gamma),
    ]
    start = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for signature, data in tags:
        table += signature + struct.pack(">II", start + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    header = (struct.pack(">I", start + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acsp" + b"\0" * 28 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48)
    return header + struct.pack(">I", len(tags)) + table + body


XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" dc:creator="' + CANARY.encode() +
       b'"/></rdf:RDF></x:xmpmeta>')


def phone_jpeg(size=(64, 48), orientation=6, **exif) -> bytes:
    """A JPEG carrying everything a phone may put in one: EXIF with GPS, XMP, an ICC profile, a comment."""
    return encode(halves(size), exif=camera_exif(orientation=orientation, **exif), xmp=XMP, icc_profile=srgb_icc(),
                  comment=CANARY.encode())


def noisy(size=(256, 192)) -> Image.Image:
    """An image of noise, which compresses badly, so its file has real entropy-coded data."""
    return Image.effect_noise(size, 60).convert("RGB")


def png_declaring(width: int, height: int) -> bytes:
    """A complete, valid 1-bit PNG of ``width``×``height`` white pixels: tiny on disk, huge in memory."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zip_archive() -> bytes:
    """A ZIP holding a web shell, as a polyglot would carry."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("shell.php", "<?php system($_GET['c']); ?>")
    return buffer.getvalue()


# Checking results ----------------------------------------------------------------------------------

def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG's header segments, up to the start of the image data."""
    assert data[:2] == b"\xff\xd8"
    markers, i = [], 2
    while True:
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xDA:
            return markers
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")


def assert_no_metadata(data: bytes) -> None:
    """The JPEG carries nothing but pixels: no EXIF, XMP, ICC, comment, or the canary anywhere in it."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert dict(image.getexif()) == {}
    assert not {"exif", "icc_profile", "xmp", "comment", "photoshop", "adobe"} & set(image.info)
    assert b"Exif\x00\x00" not in data and b"http://ns.adobe.com/xap" not in data and b"ICC_PROFILE" not in data
    assert CANARY.encode() not in data
    # Only the JFIF header may precede the image data: no APP1–APP15 segment and no comment (COM).
    assert [m for m in jpeg_markers(data) if 0xE1 <= m <= 0xEF or m == 0xFE] == []


def colour_at(data: bytes, xy) -> tuple[int, int, int]:
    """The colour of a pixel of an encoded image."""
    return Image.open(io.BytesIO(data)).convert("RGB").getpixel(xy)


def close(colour, expected, tolerance=24) -> bool:
    """Whether two colours match within JPEG's rounding."""
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


def refusal(data: bytes, **options) -> PhotoRejected:
    """The refusal ``inspect_and_clean`` raises for ``data``."""
    with pytest.raises(PhotoRejected) as caught:
        inspect_and_clean(data, **options)
    return caught.value


# The pipeline --------------------------------------------------------------------------------------

def test_phone_jpeg_suggests_position_and_time_and_comes_out_upright_and_bare():
    original = phone_jpeg(size=(64, 48), orientation=6)
    # The original carries all of it, so the checks on the cleaned photo below can fail.
    assert set(Image.open(io.BytesIO(original)).info) >= {"exif", "icc_profile", "xmp", "comment"}
    assert CANARY.encode() in original

    photo = inspect_and_clean(original)

    assert photo.gps == pytest.approx((52.0301, 123.5701), abs=1e-5)
    assert photo.taken_at == datetime(2026, 5, 1, 14, 30, tzinfo=SHANGHAI)
    assert photo.taken_at.utcoffset() == timedelta(hours=8)
    # Orientation 6: the camera was turned clockwise, so the picture's left half ends up on top.
    assert (photo.width, photo.height) == (48, 64)
    assert close(colour_at(photo.image, (24, 5)), (255, 0, 0))
    assert close(colour_at(photo.image, (24, 58)), (0, 0, 255))
    assert photo.content_type == "image/jpeg"
    for data in (photo.image, photo.thumbnail):
        assert_no_metadata(data)
    assert Image.open(io.BytesIO(photo.image)).size == (48, 64)


def test_sha256_is_of_the_cleaned_image():
    import hashlib

    photo = inspect_and_clean(phone_jpeg())
    assert photo.sha256 == hashlib.sha256(photo.image).hexdigest()


def test_southern_and_western_positions_are_negative_and_a_recorded_offset_wins():
    photo = inspect_and_clean(phone_jpeg(lat=33.8688, lat_ref="S", lon=70.25, lon_ref="W",
                                         taken="2026:01:02 03:04:05", offset="-03:00"))
    assert photo.gps == pytest.approx((-33.8688, -70.25), abs=1e-5)
    assert photo.taken_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3)))


def test_camera_time_without_offset_is_taken_in_the_given_zone():
    photo = inspect_and_clean(phone_jpeg(), zone="Europe/Berlin")
    assert photo.taken_at == datetime(2026, 5, 1, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize("exif", [
    {"lat": None, "taken": None},
    {"lat": 0.0, "lon": 0.0, "taken": "0000:00:00 00:00:00"},  # what cameras write without a fix or a clock
])
def test_no_usable_position_or_time_suggests_nothing(exif):
    photo = inspect_and_clean(phone_jpeg(**exif))
    assert photo.gps is None and photo.taken_at is None


def test_large_photo_is_scaled_down_and_thumbnailed():
    photo = inspect_and_clean(encode(halves((6000, 4000)), quality=70))
    assert (photo.width, photo.height) == (2560, 1707)
    assert Image.open(io.BytesIO(photo.image)).size == (2560, 1707)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (320, 213)
    assert close(colour_at(photo.image, (10, 10)), (255, 0, 0))


def test_small_photo_is_not_enlarged():
    photo = inspect_and_clean(encode(halves((200, 100))))
    assert (photo.width, photo.height) == (200, 100)
    assert Image.open(io.BytesIO(photo.thumbnail)).size == (200, 100)


@pytest.mark.parametrize("mode, colour, expected", [
    ("RGBA", (0, 128, 0, 255), (0, 128, 0)),
    ("LA", (60, 255), (60, 60, 60)),
    ("L", 200, (200, 200, 200)),
    ("1", 1, (255, 255, 255)),
    ("P", 3, None),
    ("I;16", 32768, (128, 128, 128)),  # 16-bit grey: mid-grey, not clipped to white
])
def test_png_in_any_mode_is_accepted_as_rgb(mode, colour, expected):
    image = Image.new(mode, (40, 30), colour)
    if mode in ("RGBA", "LA"):  # a transparent corner must come out white, not black
        image.paste((0, 0, 0, 0) if mode == "RGBA" else (0, 0), (0, 0, 10, 10))
    if mode == "P":
        image.putpalette([0, 0, 0, 255, 255, 255, 9, 9, 9, 200, 30, 30] + [0] * 756)
        expected = (200, 30, 30)
    photo = inspect_and_clean(encode(image, "PNG"))
    assert Image.open(io.BytesIO(photo.image)).mode == "RGB"
    assert close(colour_at(photo.image, (30, 20)), expected)
    if mode in ("RGBA", "LA"):
        assert close(colour_at(photo.image, (3, 3)), (255, 255, 255))
    assert_no_metadata(photo.image)


def test_png_exif_position_is_read_too():
    photo = inspect_and_clean(encode(halves(), "PNG", exif=camera_exif()))
    assert photo.gps == pytest.approx((52.0301, 123.5701), abs=1e-5)


def test_cmyk_jpeg_comes_out_in_rgb_colours():
    image = Image.new("CMYK", (40, 30), (0, 255, 255, 0))  # full magenta and yellow: red
    photo = inspect_and_clean(encode(image))
    assert close(colour_at(photo.image, (20, 15)), (255, 0, 0), tolerance=40)


def test_embedded_colour_profile_is_applied_and_not_kept():
    image = halves(left=(30, 160, 90), right=(30, 160, 90))
    photo = inspect_and_clean(encode(image, "PNG", icc_profile=srgb_icc()))
    assert close(colour_at(photo.image, (10, 10)), (30, 160, 90))
    assert_no_metadata(photo.image)


@pytest.mark.parametrize("format", ["PNG", "JPEG"])
def test_wide_gamut_colours_are_converted_to_srgb_before_the_profile_is_dropped(format):
    # P3 (180, 60, 60) is sRGB (197, 43, 51): keeping the numbers but dropping the profile would dull it.
    photo = inspect_and_clean(encode(Image.new("RGB", (40, 30), (180, 60, 60)), format, icc_profile=display_p3_icc()))
    assert close(colour_at(photo.image, (20, 15)), (197, 43, 51), tolerance=5)
    assert_no_metadata(photo.image)


def test_webp_is_accepted():
    photo = inspect_and_clean(encode(halves(), "WEBP", exif=camera_exif()))
    assert (photo.width, photo.height) == (64, 48)
    assert photo.gps is not None
    assert_no_metadata(photo.image)


@pytest.mark.parametrize("format", ["WEBP", "PNG"])
def test_animated_image_becomes_its_first_frame(format):
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((0, 200, 0), (200, 0, 0), (0, 0, 200))]
    data = encode(frames[0], format, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    photo = inspect_and_clean(data)
    assert close(colour_at(photo.image, (20, 15)), (0, 200, 0))


def heic(image: Image.Image, **options) -> bytes:
    """The image as an iPhone-style HEIC file, encoded by pillow-heif's bundled libheif and x265."""
    pillow_heif = pytest.importorskip("pillow_heif")
    if not pillow_heif.libheif_info().get("HEIF"):
        pytest.skip("this pillow-heif build has no HEIC encoder, so no HEIC file can be made to test with")
    buffer = io.BytesIO()
    pillow_heif.from_pillow(image).save(buffer, quality=90, **options)
    return buffer.getvalue()


def test_heic_is_accepted_with_position_and_upright():
    data = heic(halves((64, 48)), exif=camera_exif(orientation=6).tobytes())
    assert data[4:12] == b"ftypheic"
    photo = inspect_and_clean(data)
    assert photo.gps == pytest.approx((52.0301, 123.5701), abs=1e-5)
    assert photo.taken_at == datetime(2026, 5, 1, 14, 30, tzinfo=SHANGHAI)
    assert (photo.width, photo.height) == (48, 64)
    assert close(colour_at(photo.image, (24, 5)), (255, 0, 0), tolerance=40)
    assert_no_metadata(photo.image)
    assert_no_metadata(photo.thumbnail)


# Refusals ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    "我在河边看到排污口冒黑水。\n".encode() * 50,  # a text file renamed to photo.jpg
    b"<html><body><script>alert(1)</script></body></html>",
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
    b"%PDF-1.7\n",
    encode(halves(), "GIF"),  # real images in formats residents are not asked for
    encode(halves(), "BMP"),
    encode(halves(), "TIFF"),
])
def test_anything_but_a_supported_image_is_refused(data):
    error = refusal(data)
    assert error.reason == "not_an_image"
    assert str(error) == "文件不是可识别的图片（支持 JPEG、PNG、WebP、HEIC）"


def test_empty_file_is_refused():
    assert refusal(b"").reason == "empty"


def test_file_over_the_limit_is_refused_with_its_size():
    data = encode(halves()).ljust(11 * 1024 * 1024, b"\x00")
    error = refusal(data)
    assert error.reason == "too_large"
    assert str(error) == "照片过大（11 MB），每张最多 10 MB"


def test_size_is_shown_to_one_decimal_and_never_as_the_limit_itself():
    assert str(refusal(encode(halves()).ljust(int(11.2 * 1024 * 1024), b"\x00"))) == "照片过大（11.2 MB），每张最多 10 MB"
    assert str(refusal(encode(halves()).ljust(10 * 1024 * 1024 + 1, b"\x00"))) == "照片过大（10.1 MB），每张最多 10 MB"


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_jpeg_is_refused(cut):
    data = encode(noisy())
    error = refusal(data[:int(len(data) * cut)])
    assert error.reason == "broken"
    assert "损坏或不完整" in str(error)


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff" + b"\x00" * 200,
    b"\x89PNG\r\n\x1a\n" + b"garbage" * 20,
    b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 20,
    b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 50,
])
def test_a_signature_without_an_image_is_refused(data):
    assert refusal(data).reason == "broken"


def test_decompression_bomb_over_pillows_hard_limit_is_refused():
    bomb = png_declaring(30_000, 30_000)  # 900 million pixels in about 100 KB
    assert len(bomb) < 200_000
    error = refusal(bomb, max_pixels=10**10)  # Pillow's own DecompressionBombError
    assert error.reason == "too_many_pixels"
    assert "疑似异常文件" in str(error)


def test_decompression_bomb_over_pillows_warning_limit_is_refused():
    # 100 million pixels: Pillow only warns (an error in these tests); the warning is still a refusal.
    assert refusal(png_declaring(10_000, 10_000), max_pixels=200_000_000).reason == "too_many_pixels"


def test_image_over_our_own_pixel_limit_is_refused_before_decoding():
    assert refusal(png_declaring(7_000, 7_000)).reason == "too_many_pixels"  # 49 M > 40 M, below Pillow's limit
    assert str(refusal(encode(halves((100, 100))), max_pixels=5_000)) == "图片尺寸过大（超过 0.5 万像素），疑似异常文件"
    assert inspect_and_clean(encode(halves((100, 100))), max_pixels=10_000).width == 100


@pytest.mark.parametrize("payload", [
    zip_archive(),
    os.urandom(64) + zip_archive(),  # the archive after junk: found by its central directory at the end
    b"\n\n<html><script>fetch('/admin')</script></html>",
    b"\x00" * 16 + b"<?php system($_GET['c']); ?>",
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
])
@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP"])
def test_image_with_a_file_or_script_after_its_end_is_refused(format, payload):
    polyglot = encode(noisy((64, 48)), format) + payload
    if payload.startswith(b"PK") or b"PK\x03\x04" in payload:
        assert zipfile.is_zipfile(io.BytesIO(polyglot))  # it really is a ZIP as well as an image
    Image.open(io.BytesIO(polyglot)).load()  # …and really a decodable image
    error = refusal(polyglot)
    assert error.reason == "trailing_payload"
    assert "夹带" in str(error)


def test_motion_photo_video_after_the_jpeg_is_accepted_and_dropped():
    # Xiaomi, Google and other phones append the clip of a "motion photo" after the JPEG's end.
    video = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + os.urandom(4096)
    photo = inspect_and_clean(encode(noisy((64, 48))) + video)
    assert video[4:12] not in photo.image and video[-64:] not in photo.image
    assert photo.image.endswith(b"\xff\xd9") and photo.image.count(b"\xff\xd9") == 1


def test_jpeg_with_zip_inside_its_metadata_is_neutralised():
    # Payloads inside the file (here in a comment segment) are not refused but never survive re-encoding.
    archive = zip_archive()
    data = encode(noisy((64, 48)), comment=archive)
    photo = inspect_and_clean(data)
    assert archive not in photo.image and b"shell.php" not in photo.image
    assert not zipfile.is_zipfile(io.BytesIO(photo.image))


# Storage -------------------------------------------------------------------------------------------

def files_under(root) -> list[str]:
    """Every file below ``root``, relative, sorted."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def storage(tmp_path):
    """A file-system photo store in a fresh folder."""
    return FileSystemStorage(tmp_path / "photos")


def test_storage_creates_nothing_until_a_photo_is_staged(tmp_path):
    FileSystemStorage(tmp_path / "photos")
    assert not (tmp_path / "photos").exists()


def test_staged_file_is_invisible_until_committed(storage):
    staged = storage.stage(b"jpeg bytes")
    assert staged.path.read_bytes() == b"jpeg bytes"
    assert staged.path.parent.name == ".staging"
    with pytest.raises(FileNotFoundError):
        storage.open(staged.key)

    assert storage.commit(staged) == staged.key
    assert storage.open(staged.key) == b"jpeg bytes"
    assert storage.path(staged.key).is_file()
    assert files_under(storage.root) == [f"{staged.key[:2]}/{staged.key}"]
    assert storage.commit(staged) == staged.key  # committing again is harmless


def test_discard_and_delete_leave_nothing(storage):
    storage.discard(storage.stage(b"a"))
    kept = storage.stage(b"b")
    storage.commit(kept)
    storage.delete(kept.key)
    storage.delete(kept.key)
    assert files_under(storage.root) == []


def test_keys_are_random_url_safe_and_case_proof(storage):
    keys = {storage.stage(b"x").key for _ in range(50)}
    assert len(keys) == 50
    for key in keys:
        assert quote(key, safe="") == key and key == key.lower() and key.endswith(".jpg")
        assert len(key.removesuffix(".jpg")) == 24


@pytest.mark.parametrize("key", [
    "../../etc/passwd", "..", "a/../../b", "/etc/passwd", "", "short", "abcdefghijklmnop/x",
    "ABCDEFGHIJKLMNOPQRSTUVWX.jpg", "abcdefghijklmnopqrstuvwx.jpg\x00", "abcdefghijklmnopqrstuvwx..jpg",
    "abcdefghijklmnopqrstuvwx\\..\\x", ".staging", None,
])
def test_keys_that_could_leave_the_store_are_refused(storage, key):
    for call in (storage.path, storage.open, storage.delete):
        with pytest.raises(ValueError):
            call(key)
    with pytest.raises(ValueError):
        storage.commit(photos.StagedFile(key=key, path=storage.staging / "x"))


def test_commit_never_overwrites_another_photo(storage):
    first = storage.stage(b"first")
    storage.commit(first)
    impostor = storage.stage(b"second")
    os.replace(impostor.path, storage.staging / first.key)
    with pytest.raises(FileExistsError):
        storage.commit(photos.StagedFile(key=first.key, path=storage.staging / first.key))
    assert storage.open(first.key) == b"first"


def test_batch_moves_files_into_place_after_the_database_commit(storage):
    events = []
    with staged_photos(storage) as batch:
        image, thumbnail = batch.stage(b"image"), batch.stage(b"thumb")
        assert files_under(storage.root) == sorted([f".staging/{image.key}", f".staging/{thumbnail.key}"])
        keys = batch.commit_after(lambda: events.append(files_under(storage.root)))
    assert keys == [image.key, thumbnail.key]
    assert all(name.startswith(".staging/") for name in events[0])  # nothing visible before the commit
    assert storage.open(image.key) == b"image" and storage.open(thumbnail.key) == b"thumb"
    assert files_under(storage.staging) == []


def test_failed_database_commit_leaves_no_file(storage):
    def failing_commit():
        raise RuntimeError("database is locked")

    with pytest.raises(RuntimeError, match="locked"):
        with staged_photos(storage) as batch:
            batch.stage(b"image")
            batch.commit_after(failing_commit)
    assert files_under(storage.root) == []


def test_failing_block_leaves_no_file(storage):
    with pytest.raises(PhotoRejected):
        with staged_photos(storage) as batch:
            batch.stage(inspect_and_clean(phone_jpeg()).image)
            inspect_and_clean(b"not a photo")  # the second photo of the report is refused
    assert files_under(storage.root) == []


def test_block_that_never_commits_leaves_no_file(storage):
    with staged_photos(storage) as batch:
        batch.stage(b"image")
    assert files_under(storage.root) == []


def test_failed_move_after_the_database_commit_keeps_the_staged_file_for_the_sweep(storage, monkeypatch):
    with staged_photos(storage) as batch:
        lost, moved = batch.stage(b"lost"), batch.stage(b"moved")
        real_commit = storage.commit

        def flaky_commit(staged):
            if staged.key == lost.key:
                raise OSError("disk full")
            return real_commit(staged)

        monkeypatch.setattr(storage, "commit", flaky_commit)
        with pytest.raises(OSError, match="disk full"):
            batch.commit_after(lambda: None)
    monkeypatch.undo()
    assert storage.open(moved.key) == b"moved"  # the others were still moved
    assert lost.path.read_bytes() == b"lost"  # not discarded: the database names it


def age(path, hours: float) -> None:
    """Make a file look as if it was last written ``hours`` ago."""
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


def test_sweep_deletes_stale_staged_files_and_keeps_fresh_ones(storage):
    stale, fresh = storage.stage(b"stale"), storage.stage(b"fresh")
    committed = storage.stage(b"kept")
    storage.commit(committed)
    age(stale.path, 2)
    age(storage.path(committed.key), 2)

    sweep = storage.sweep_staging(timedelta(hours=1))

    assert sweep.deleted == [stale.key] and sweep.recovered == []
    assert files_under(storage.root) == sorted([f".staging/{fresh.key}", f"{committed.key[:2]}/{committed.key}"])


def test_sweep_recovers_files_the_database_names_after_a_crash(storage):
    # The crash window: the database committed, the process died before moving the files.
    named, orphan = storage.stage(b"named"), storage.stage(b"orphan")
    for staged in (named, orphan):
        age(staged.path, 2)

    sweep = storage.sweep_staging(timedelta(hours=1), referenced={named.key}.__contains__)

    assert sweep.recovered == [named.key] and sweep.deleted == [orphan.key]
    assert storage.open(named.key) == b"named"
    assert files_under(storage.staging) == []


def test_sweep_of_a_store_never_used_does_nothing(storage):
    assert storage.sweep_staging(timedelta(0)) == photos.Sweep()
    assert not storage.root.exists()


def test_app_storage_lives_in_the_instance_folder_unless_configured(tmp_path):
    app = SimpleNamespace(config={"PHOTO_ROOT": ""}, instance_path=str(tmp_path / "instance"))
    assert photos.storage_for(app).root == (tmp_path / "instance" / "photos").resolve()
    app.config["PHOTO_ROOT"] = str(tmp_path / "elsewhere")
    assert photos.storage_for(app).root == (tmp_path / "elsewhere").resolve()
