"""Citizens' photos: decode, verify, read position and time, rotate, strip, re-encode, thumbnail; storage.

The pipeline (``inspect_and_clean``) trusts nothing the browser says: the file's name and declared
type are never looked at. A photo is accepted only when its first bytes carry the signature of
JPEG, PNG, WebP or HEIC/HEIF *and* the decoder that opens it is that same format *and* every pixel
of it decodes. Whatever is accepted is then re-drawn: the stored image and thumbnail are new JPEG
files written by Pillow from decoded pixels, so nothing of the uploaded bytes survives — no EXIF,
XMP, ICC profile, comment, embedded thumbnail or any payload hidden inside or after the image.

Polyglots (an image that is also a ZIP, a web page or a script) are therefore neutralised by
construction, and in addition refused when recognisable, so the resident is told and nothing odd is
kept even for a moment: a JPEG, PNG or WebP followed, after the image's own end (JPEG's EOI marker,
PNG's IEND chunk, WebP's RIFF length), by an archive, PDF or executable, by a ZIP directory, or by
HTML/script text is refused. Other trailing data is accepted and dropped: phones append their own
(the video of a "motion photo" on Xiaomi, Google and others, Samsung's SEFT block, the preview
images of an MPF/MPO file), and refusing those would refuse ordinary residents. HEIF's box
structure is not walked; re-encoding covers it.

Animated images (APNG, animated WebP, MPO, HEIF sequences) are accepted as their first (primary)
frame: a resident who sends one gets a still photo rather than a refusal.

Decompression bombs: the pixel count the header declares is checked against ``max_pixels`` before
any pixel is decoded. Pillow's own process-wide guard (``Image.MAX_IMAGE_PIXELS``) is deliberately
left as Pillow ships it: changing a global per call would race between request threads, and our
limit (40 million pixels by default) is lower than Pillow's anyway. Pillow's
``DecompressionBombWarning`` (an exception when warnings are errors, as in the tests) and
``DecompressionBombError`` become the same refusal.

The storage half keeps a photo out of its final place until the report that refers to it is in the
database; see ``staged_photos``.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import io
import math
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from PIL import ExifTags, Image, ImageCms, ImageOps
from werkzeug.security import safe_join

from portal.db import after_commit, on_rollback

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_EDGE = 2560  # long edge of the stored image, in pixels
THUMBNAIL_EDGE = 320
JPEG_QUALITY = 85
THUMBNAIL_QUALITY = 80
DEFAULT_ZONE = "Asia/Shanghai"
CONTENT_TYPE = "image/jpeg"

NOT_AN_IMAGE = _l("文件不是可识别的图片（支持 JPEG、PNG、WebP、HEIC）")

# Pillow's format names for the files a signature announces (a JPEG with an MPF index opens as MPO).
_DECODERS = {"JPEG": {"JPEG", "MPO"}, "PNG": {"PNG"}, "WEBP": {"WEBP"}, "HEIF": {"HEIF"}}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1"}
# What may follow an image's end marker and is refused: the start of another kind of file…
_PAYLOAD_STARTS = (
    b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08",  # ZIP, and so JAR, APK, DOCX, XLSX
    b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh", b"\xfd7zXZ\x00",  # other archives
    b"%PDF-", b"MZ", b"\x7fELF", b"#!",  # documents, executables, scripts
    b"<",  # markup: HTML, SVG, XML, PHP
)
# …a ZIP's end-of-central-directory record, which is what unzip looks for, at any distance from the end
# of the image…
_ZIP_DIRECTORY = b"PK\x05\x06"
_ZIP_DIRECTORY_REACH = 22 + 65535
# …or markup anywhere in it. Only markers of six characters or more: a phone's appended video must
# not match one by chance.
_MARKUP = (b"<script", b"<iframe", b"<!doctype", b"<html>", b"<html ", b"<?php", b"<object", b"<embed ",
           b"<svg ", b"<svg>", b"javascript:", b"onerror=", b"onload=")
_PADDING = b"\x00\xff \t\r\n"

_DATE_TIME_ORIGINAL, _OFFSET_TIME_ORIGINAL, _DATE_TIME_DIGITIZED = 0x9003, 0x9011, 0x9004
_GPS_STATUS = 9


class PhotoRejected(ValueError):
    """A photo was refused; ``message`` is what a resident understands (a lazy translation, read in
    the visitor's language when shown), ``reason`` a stable code.

    Reasons: ``empty``, ``too_large``, ``not_an_image``, ``mismatch``, ``trailing_payload``,
    ``too_many_pixels``, ``broken``.
    """

    def __init__(self, message, reason: str):
        super().__init__(message)
        self.message = message
        self.reason = reason

    def __str__(self) -> str:
        return str(self.message)


@dataclass(frozen=True)
class Upload:
    """One photo as a request brought it: the file name the browser gave (shown back to the
    resident in refusals, never used to store it) and its bytes, read one byte past the size limit
    at most."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class CleanPhoto:
    """A photo fit to store and show: re-encoded JPEG bytes without metadata, and what it suggested.

    ``gps`` is (latitude, longitude) in decimal degrees as the camera wrote them (WGS-84), and
    ``taken_at`` an aware datetime; both are suggestions for the report, ``None`` when absent or absurd.
    """

    image: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str
    gps: tuple[float, float] | None
    taken_at: datetime | None
    content_type: str = CONTENT_TYPE


def inspect_and_clean(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS,
                      zone: str | tzinfo = DEFAULT_ZONE) -> CleanPhoto:
    """Verify an uploaded photo by decoding it, read its position and time, and re-encode it clean.

    Raises ``PhotoRejected`` with a message when the photo is refused. ``zone`` is where a
    camera's clock is assumed to be when the photo does not record its UTC offset.
    """
    data = bytes(data)
    kind = check_before_decoding(data, max_bytes=max_bytes, max_pixels=max_pixels)
    image = _decode(data, kind, max_pixels)
    gps, taken_at = _suggestions(image, ZoneInfo(zone) if isinstance(zone, str) else zone)
    image = _upright(image)
    image = _to_srgb(_fit(_eight_bit(image), MAX_EDGE))
    image_bytes = _encode(image, JPEG_QUALITY)
    thumbnail = _encode(_fit(image, THUMBNAIL_EDGE), THUMBNAIL_QUALITY)
    return CleanPhoto(image=image_bytes, thumbnail=thumbnail, width=image.width, height=image.height,
                      sha256=hashlib.sha256(image_bytes).hexdigest(), gps=gps, taken_at=taken_at)


def check_before_decoding(data: bytes, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> str:
    """Refuse what can be refused without decoding a pixel: emptiness, size, signature, a payload
    after the image, and the pixel count its header declares; give the format.

    Cheap (it reads the header only), so a request's photos can all pass it before any is decoded.
    """
    if not data:
        raise PhotoRejected(_l("照片文件为空（0 字节），请重新选择照片"), "empty")
    if len(data) > max_bytes:
        raise PhotoRejected(_l("照片过大（%(size)s MB），每张最多 %(limit)s MB",
                               size=_megabytes(len(data), up=True), limit=_megabytes(max_bytes)), "too_large")
    kind = _signature(data)
    if kind is None:
        raise PhotoRejected(NOT_AN_IMAGE, "not_an_image")
    _refuse_trailing_payload(data, kind)
    _open_header(data, kind, max_pixels)
    return kind


def _megabytes(size: int, up: bool = False) -> str:
    """A size in MB (MiB) to one decimal as a resident reads it (11.2, 10); ``up`` rounds up, so that a
    file just over the limit never reads as the limit itself."""
    tenths = size * 10 / (1024 * 1024)
    return f"{(math.ceil(tenths) if up else math.floor(tenths)) / 10:.1f}".removesuffix(".0")


def _signature(data: bytes) -> str | None:
    """The format the file's first bytes announce, or None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp":
        size = int.from_bytes(data[:4], "big")
        brands = {data[8:12]} | {data[i:i + 4] for i in range(16, min(size, len(data), 64), 4)}
        if brands & _HEIF_BRANDS:
            return "HEIF"
    return None


def _refuse_trailing_payload(data: bytes, kind: str) -> None:
    """Refuse a JPEG, PNG or WebP followed by another file or by markup (see the module docstring)."""
    end = {"JPEG": _jpeg_end, "PNG": _png_end, "WEBP": _webp_end}.get(kind, lambda _: None)(data)
    if end is None:
        return  # HEIF, or an image whose end cannot be found: the decoder will judge it
    trailer = data[end:].lstrip(_PADDING)
    if not trailer:
        return
    lowered = trailer.lower()
    if (trailer.startswith(_PAYLOAD_STARTS) or _ZIP_DIRECTORY in trailer[-_ZIP_DIRECTORY_REACH:]
            or any(marker in lowered for marker in _MARKUP)):
        raise PhotoRejected(_l("图片文件末尾夹带了其他内容（如压缩包或网页代码），为安全起见不予接收；"
                               "请上传相机或手机拍摄的原图"), "trailing_payload")


def _jpeg_end(data: bytes) -> int | None:
    """The offset just past a JPEG's EOI marker, found by walking its segments; None if malformed."""
    n, i = len(data), 2
    while i < n:
        if data[i] != 0xFF:
            return None
        while i < n and data[i] == 0xFF:  # fill bytes may precede a marker
            i += 1
        if i >= n:
            return None
        marker = data[i]
        i += 1
        if marker == 0xD9:
            return i
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # standalone markers carry no length
            continue
        if i + 2 > n:
            return None
        length = int.from_bytes(data[i:i + 2], "big")
        if length < 2:
            return None
        i += length
        if marker == 0xDA:  # entropy-coded data runs to the next marker that is not a stuffed byte or RST
            while True:
                j = data.find(b"\xff", i)
                if j < 0 or j + 1 >= n:
                    return None
                following = data[j + 1]
                if following == 0x00 or 0xD0 <= following <= 0xD7:
                    i = j + 2
                elif following == 0xFF:
                    i = j + 1
                else:
                    i = j
                    break
    return None


def _png_end(data: bytes) -> int | None:
    """The offset just past a PNG's IEND chunk, found by walking its chunks; None if malformed."""
    n, i = len(data), 8
    while i + 8 <= n:
        length = int.from_bytes(data[i:i + 4], "big")
        chunk = data[i + 4:i + 8]
        i += 12 + length
        if chunk == b"IEND":
            return i if i <= n else None
    return None


def _webp_end(data: bytes) -> int | None:
    """The offset just past a WebP's RIFF container (its length is in the header)."""
    size = int.from_bytes(data[4:8], "little")
    end = 8 + size + (size & 1)
    return end if end <= len(data) else None


@functools.cache
def _register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF, once, on first use (importing this module changes nothing)."""
    import pillow_heif

    # Only the primary image is wanted: do not even parse thumbnails, depth maps or auxiliary images.
    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


def _bomb(max_pixels: int) -> PhotoRejected:
    """The refusal of an image declaring more pixels than ``max_pixels``."""
    ten_thousands = format(max_pixels / 10_000, "g")
    return PhotoRejected(_l("图片尺寸过大（超过 %(n)s 万像素），疑似异常文件", n=ten_thousands), "too_many_pixels")


def _broken() -> PhotoRejected:
    """The refusal of an image that cannot be parsed or decoded."""
    return PhotoRejected(_l("图片已损坏或不完整，无法打开；请重新拍摄，或选择手机相册中的原图"), "broken")


def _open_header(data: bytes, kind: str, max_pixels: int) -> Image.Image:
    """The image opened lazily (its header read, no pixel decoded) as the format its signature
    announced, once its declared pixel count is within ``max_pixels``."""
    _register_heif()
    try:
        image = Image.open(io.BytesIO(data), formats=list(_DECODERS))  # MPO opens through the JPEG plugin
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(max_pixels) from None
    except Exception as exc:  # untrusted input: any failure to parse it is a refusal
        raise _broken() from exc
    if image.format not in _DECODERS[kind]:
        raise PhotoRejected(_l("文件内容与其图片格式标识不符，为安全起见不予接收"), "mismatch")
    width, height = image.size
    if width * height > max_pixels:
        raise _bomb(max_pixels)
    return image


def _decode(data: bytes, kind: str, max_pixels: int) -> Image.Image:
    """Open the image as the format its signature announced, check its size, and decode every pixel."""
    image = _open_header(data, kind, max_pixels)
    width, height = image.size
    if image.format in _DECODERS["JPEG"] and max(width, height) > MAX_EDGE:
        # Let libjpeg scale by 1/2, 1/4 or 1/8 while decoding: every byte is still decoded, far faster.
        scale = MAX_EDGE / max(width, height)
        image.draft(None, (max(1, int(width * scale)), max(1, int(height * scale))))
    try:
        image.load()  # the first frame of an animation: the one a resident sees first
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _bomb(max_pixels) from None
    except Exception as exc:
        raise _broken() from exc
    return image


def _suggestions(image: Image.Image, zone: tzinfo) -> tuple[tuple[float, float] | None, datetime | None]:
    """The position and time the photo's EXIF records, if any; a damaged EXIF block suggests nothing."""
    try:
        exif = image.getexif()
    except Exception:
        return None, None
    try:
        gps = _gps(exif.get_ifd(ExifTags.IFD.GPSInfo))
    except Exception:
        gps = None
    try:
        taken_at = _taken_at(exif.get_ifd(ExifTags.IFD.Exif), zone)
    except Exception:
        taken_at = None
    return gps, taken_at


def _gps(gps_ifd) -> tuple[float, float] | None:
    """(latitude, longitude) in decimal degrees from a GPS IFD; None without a usable fix."""
    tags = ExifTags.GPS
    if not gps_ifd or _text(gps_ifd.get(_GPS_STATUS)) == "V":  # V: the receiver had no fix
        return None
    latitude = _degrees(gps_ifd.get(tags.GPSLatitude), gps_ifd.get(tags.GPSLatitudeRef), "N", "S")
    longitude = _degrees(gps_ifd.get(tags.GPSLongitude), gps_ifd.get(tags.GPSLongitudeRef), "E", "W")
    if latitude is None or longitude is None:
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180) or (latitude == 0 and longitude == 0):
        return None  # 0,0 is what some cameras write when they have no position
    return latitude, longitude


def _degrees(value, ref, positive: str, negative: str) -> float | None:
    """Degrees, minutes and seconds (EXIF rationals) and a hemisphere reference as signed degrees."""
    if value is None:
        return None
    parts = [float(part) for part in (value if isinstance(value, tuple | list) else (value,))]
    if not 1 <= len(parts) <= 3 or any(part != part or part < 0 for part in parts):  # NaN: a 0 denominator
        return None
    degrees = sum(part / 60 ** power for power, part in enumerate(parts))
    hemisphere = _text(ref).upper()
    if hemisphere == negative:
        return -degrees
    if hemisphere in (positive, ""):
        return degrees
    return None


def _taken_at(exif_ifd, zone: tzinfo) -> datetime | None:
    """When the photo was taken: DateTimeOriginal (else DateTimeDigitized), made aware.

    EXIF records the camera's wall-clock time without a zone. When the camera also wrote
    OffsetTimeOriginal (recent phones do), that offset is used; otherwise the time is assumed to be
    in ``zone`` — the district's, since a resident reporting a river here is usually here.
    """
    for tag in (_DATE_TIME_ORIGINAL, _DATE_TIME_DIGITIZED):
        text = _text(exif_ifd.get(tag))
        try:
            naive = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
        except ValueError:
            continue
        offset = re.fullmatch(r"([+-])(\d\d):(\d\d)", _text(exif_ifd.get(_OFFSET_TIME_ORIGINAL)))
        if offset and tag == _DATE_TIME_ORIGINAL:
            sign = -1 if offset[1] == "-" else 1
            return naive.replace(tzinfo=timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3]))))
        return naive.replace(tzinfo=zone)
    return None


def _text(value) -> str:
    """An EXIF ASCII value as clean text (cameras pad with NULs and spaces)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value or "").strip("\x00 ")


def _upright(image: Image.Image) -> Image.Image:
    """The image turned the way the camera was held (EXIF orientation); as it is if EXIF is unreadable."""
    try:
        ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of an upright photo
    except Exception:
        pass
    return image


def _eight_bit(image: Image.Image) -> Image.Image:
    """The image in a mode that resizes well and converts to RGB faithfully (8 bits, alpha if any)."""
    mode = image.mode
    if mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    if mode.startswith("I;16") or mode == "I":
        # Pillow's I;16 → L conversion clips at 255, which would turn a 16-bit photo white.
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if mode == "1":
        return image.convert("L")
    if mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if mode in ("PA", "RGBa", "La"):
        return image.convert("RGBA")
    return image.convert("RGB")


def _fit(image: Image.Image, edge: int) -> Image.Image:
    """The image scaled down so its long edge is at most ``edge`` pixels (never scaled up)."""
    scale = edge / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Bicubic rather than Lanczos: indistinguishable at these reductions and well over twice as fast
    # (a 12-megapixel phone photo to 2560 px took 1.3 s with Lanczos, 0.5 s bicubic), time a worker
    # holding a resident's report is not serving anyone else. Pillow antialiases either way.
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


@functools.cache
def _srgb() -> ImageCms.ImageCmsProfile:
    """The sRGB profile every stored photo is in (and therefore needs no embedded profile)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(image: Image.Image) -> Image.Image:
    """Opaque sRGB pixels: transparency laid on white, colours moved out of any embedded ICC profile.

    The stored JPEG carries no profile, so a photo in Display P3 (iPhones) or CMYK must have its
    colours converted rather than its profile dropped, or it would look washed out or wrong.
    """
    icc = image.info.get("icc_profile")
    if image.mode in ("RGBA", "LA"):
        background = Image.new(image.mode[:-1], image.size, 255 if image.mode == "LA" else (255, 255, 255))
        background.paste(image.convert(image.mode[:-1]), mask=image.getchannel("A"))
        image = background
    if icc:
        try:
            return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _srgb(),
                                             outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # a damaged or mismatched profile: convert as if there were none
    return image if image.mode == "RGB" else image.convert("RGB")


def _encode(image: Image.Image, quality: int) -> bytes:
    """JPEG bytes with no metadata: drawn from a fresh image, so no EXIF, XMP, ICC or comment follows."""
    fresh = Image.new("RGB", image.size)
    fresh.paste(image)
    buffer = io.BytesIO()
    fresh.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
    return buffer.getvalue()


# Storage ------------------------------------------------------------------------------------------

KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]{15,127}(?:\.[a-z0-9]{1,8})?")
STAGING_DIR = ".staging"


def new_key(suffix: str = ".jpg") -> str:
    """A random, URL-safe storage key (120 bits; lower case, so case-insensitive disks cannot clash)."""
    _check_suffix(suffix)
    return base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower() + suffix


def _check_suffix(suffix: str) -> None:
    """Refuse a file suffix that is not a short lower-case extension such as ``.jpg``."""
    if not re.fullmatch(r"(?:\.[a-z0-9]{1,8})?", suffix):
        raise ValueError(f"invalid suffix: {suffix!r}")


def check_key(key: str) -> str:
    """The key itself if it is one ``new_key`` could have made; ValueError otherwise (e.g. ``../x``)."""
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValueError(f"invalid photo key: {key!r}")
    return key


@dataclass(frozen=True)
class StagedFile:
    """A file written aside: not yet visible under its key. Store ``key`` in the database row."""

    key: str
    path: Path


@dataclass(frozen=True)
class Sweep:
    """What ``sweep_staging`` did: stale staged files moved into place, and those deleted."""

    recovered: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


class PhotoStorage(Protocol):
    """Where photos live. Keys are random (``new_key``), never derived from what the resident sent."""

    def stage(self, data: bytes, suffix: str = ".jpg") -> StagedFile:
        """Write ``data`` aside under a new random key, durably, without making it visible."""

    def staged(self, key: str) -> StagedFile:
        """A file staged earlier (e.g. by a preview) under this key; FileNotFoundError if it is gone."""

    def commit(self, staged: StagedFile) -> str:
        """Move a staged file into place under its key, atomically; give the key."""

    def discard(self, staged: StagedFile) -> None:
        """Forget a staged file (no error if it is already gone)."""

    def open(self, key: str) -> bytes:
        """A stored photo's bytes; FileNotFoundError if there is none."""

    def open_registered(self, key: str) -> bytes:
        """A registry (outfall) photo's bytes, stored under the path the ledger names; FileNotFoundError if none."""

    def delete(self, key: str) -> None:
        """Remove a stored photo (no error if it is already gone)."""

    def sweep_staging(self, older_than: timedelta, *,
                      referenced: Callable[[str], bool] | None = None) -> Sweep:
        """Deal with staged files older than ``older_than``: recover the referenced, delete the rest."""


class FileSystemStorage:
    """Photos as files under ``root`` (``<root>/<2 chars of key>/<key>``), staged in ``<root>/.staging``.

    The staging folder is inside ``root`` so that moving a file into place is a rename on one disk,
    which is atomic. Nothing is created until the first photo is staged.
    """

    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        self.staging = self.root / STAGING_DIR

    def path(self, key: str) -> Path:
        """Where a key's file is (for ``send_file``); ValueError for a key that could escape ``root``."""
        check_key(key)
        path = self.root / key[:2] / key
        if not path.resolve().is_relative_to(self.root):  # belt and braces: the pattern forbids / and ..
            raise ValueError(f"invalid photo key: {key!r}")
        return path

    def stage(self, data: bytes, suffix: str = ".jpg") -> StagedFile:
        """Write ``data`` to ``.staging/<new key>``, flushed to disk; the staged name is the key, so a
        file left behind by a crash can still be matched to the database row that names it."""
        key = new_key(suffix)
        self.staging.mkdir(parents=True, exist_ok=True)
        staged = StagedFile(key=key, path=self.staging / key)
        fd = os.open(staged.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o640)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            staged.path.unlink(missing_ok=True)
            raise
        return staged

    def staged(self, key: str) -> StagedFile:
        """A file staged earlier (e.g. by a preview) under this key; FileNotFoundError once it is gone
        (committed, or swept as stale)."""
        path = self._staged_path(key)
        if not path.is_file():
            raise FileNotFoundError(key)
        return StagedFile(key=key, path=path)

    def commit(self, staged: StagedFile) -> str:
        """Rename the staged file into place (atomic on one disk) and flush the folder; give the key.

        Committing twice is harmless; a different file already under the key is an error, not
        overwritten (keys are random, so that would be a bug).
        """
        target = self.path(staged.key)
        source = self._staged_path(staged.key)
        if target.exists():
            if not source.exists():
                return staged.key  # already moved, e.g. by a sweep
            raise FileExistsError(f"a photo is already stored under {staged.key}")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
        _fsync_dir(target.parent)
        return staged.key

    def discard(self, staged: StagedFile) -> None:
        """Delete a staged file, if it is still there."""
        self._staged_path(staged.key).unlink(missing_ok=True)

    def open(self, key: str) -> bytes:
        """A stored photo's bytes; FileNotFoundError if there is none."""
        return self.path(key).read_bytes()

    def open_registered(self, key: str) -> bytes:
        """A registry (outfall) photo's bytes: ``<root>/<key>``, the key a path such as ``HZ-001/before.jpg``.

        Those keys come from the ledger, not from ``new_key``; one that would leave ``root`` or reach
        the staging area is refused with ValueError, a missing file with FileNotFoundError.
        """
        joined = safe_join(str(self.root), key)
        path = Path(joined).resolve() if joined else None
        if path is None or not path.is_relative_to(self.root) or path.is_relative_to(self.staging):
            raise ValueError(f"invalid photo key: {key!r}")
        if not path.is_file():
            raise FileNotFoundError(key)
        return path.read_bytes()

    def delete(self, key: str) -> None:
        """Remove a stored photo, if it is there."""
        self.path(key).unlink(missing_ok=True)

    def sweep_staging(self, older_than: timedelta, *,
                      referenced: Callable[[str], bool] | None = None) -> Sweep:
        """Deal with staged files last written more than ``older_than`` ago.

        A file is staged for seconds, so an old one was left by a failed request or a crash. If
        ``referenced(key)`` says the database names its key (the crash came between the database
        commit and the move), it is moved into place; otherwise it is deleted.
        """
        sweep = Sweep()
        if not self.staging.is_dir():
            return sweep
        cutoff = time.time() - older_than.total_seconds()
        for entry in sorted(self.staging.iterdir()):
            try:
                if not entry.is_file() or entry.stat().st_mtime >= cutoff:
                    continue
            except FileNotFoundError:
                continue  # committed or discarded meanwhile
            if referenced is not None and KEY_PATTERN.fullmatch(entry.name) and referenced(entry.name):
                self.commit(StagedFile(key=entry.name, path=entry))
                sweep.recovered.append(entry.name)
            else:
                entry.unlink(missing_ok=True)
                sweep.deleted.append(entry.name)
        return sweep

    def _staged_path(self, key: str) -> Path:
        """Where a key's staged file is."""
        return self.staging / check_key(key)


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk so a rename survives a power cut (POSIX only)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def storage_for(app) -> FileSystemStorage:
    """The app's photo storage: ``PHOTO_ROOT`` if configured, else ``<instance>/photos``."""
    return FileSystemStorage(app.config["PHOTO_ROOT"] or Path(app.instance_path) / "photos")


class PhotoBatch:
    """The photos of one database transaction: staged now, moved into place only once it commits."""

    def __init__(self, storage: PhotoStorage):
        self.storage = storage
        self.staged: list[StagedFile] = []
        self.moving = False

    def stage(self, data: bytes, suffix: str = ".jpg") -> StagedFile:
        """Write one file aside; store the returned ``key`` in the row that refers to it."""
        if self.moving:
            raise RuntimeError("this batch has already been committed")
        staged = self.storage.stage(data, suffix)
        self.staged.append(staged)
        return staged

    def adopt(self, key: str) -> StagedFile:
        """Take into the batch a file staged by an earlier request (a preview): it is moved into place
        with the others, or deleted with them if the transaction fails."""
        if self.moving:
            raise RuntimeError("this batch has already been committed")
        staged = self.storage.staged(key)
        self.staged.append(staged)
        return staged

    def commit_after(self, commit_database: Callable[[], object]) -> list[str]:
        """Run the database commit; if it succeeds move every staged file into place, if not discard them.

        Once the database has committed, staged files are never discarded: if a move fails, the
        error propagates and the files left in staging are for ``sweep_staging(referenced=…)``.
        """
        try:
            commit_database()
        except BaseException:
            self.discard()
            raise
        return self.move_into_place()

    def move_into_place(self) -> list[str]:
        """Move every staged file into place (the database has committed the rows naming them).

        If a move fails the others are still moved and the first error propagates; the files left
        in staging are for ``sweep_staging(referenced=…)``.
        """
        self.moving = True
        failure = None
        for staged in self.staged:
            try:
                self.storage.commit(staged)
            except Exception as exc:  # move the others regardless: each one in place is one less to recover
                failure = failure or exc
        if failure is not None:
            raise failure
        return [staged.key for staged in self.staged]

    def discard(self) -> None:
        """Delete every staged file of the batch."""
        while self.staged:
            self.storage.discard(self.staged.pop())


def photo_batch(storage: PhotoStorage) -> PhotoBatch:
    """A batch tied to the current ``portal.db.transaction()``: its files move into place once the
    transaction commits and are deleted if it rolls back. What domain operations use."""
    batch = PhotoBatch(storage)
    on_rollback(batch.discard)
    after_commit(batch.move_into_place)
    return batch


@contextmanager
def staged_photos(storage: PhotoStorage) -> Iterator[PhotoBatch]:
    """A batch whose staged files are deleted unless ``commit_after`` got as far as the database commit
    (the mechanism under ``photo_batch``, usable without a database).

    For the intake::

        with staged_photos(storage) as batch:
            for photo in photos:
                report.photos.append(Photo(key=batch.stage(photo.image).key,
                                           thumbnail_key=batch.stage(photo.thumbnail).key))
            db.session.add(report)
            batch.commit_after(db.session.commit)

    If anything in the block raises, or the database commit fails, no file is left behind. The one
    window that remains: a crash after the database commit and before the renames leaves rows
    naming files that are still in ``.staging`` (so the photo is missing until then);
    ``sweep_staging(older_than, referenced=…)`` run from the CLI moves them into place, and deletes
    staged files that no row names.
    """
    batch = PhotoBatch(storage)
    try:
        yield batch
    finally:
        if not batch.moving:
            batch.discard()
