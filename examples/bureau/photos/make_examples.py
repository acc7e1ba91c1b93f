"""Make the example photos and the example permit of examples/bureau/photos/ (invented, not real).

Run from anywhere: ``python examples/bureau/photos/make_examples.py``. It rewrites the four small
JPEGs and the one PDF beside it; ``manifest.csv`` (written by hand) lists them for
``portal import-photos examples/bureau/photos``. The pictures are drawn, not photographed: a river
bank with a pipe, a signboard, a sampling well. The PDF is written by hand (no PDF library needed):
one page with the permit's particulars in plain text and its Chinese title in the document info.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
SIZE = (320, 240)


def _scene(water: tuple[int, int, int], draw_extra) -> Image.Image:
    """A river bank under a grey sky, a concrete pipe into the water, and whatever ``draw_extra`` adds."""
    image = Image.new("RGB", SIZE, (200, 210, 220))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 110, 320, 170), fill=(110, 130, 80))  # the bank
    draw.rectangle((0, 170, 320, 240), fill=water)  # the river
    draw.rectangle((120, 140, 170, 160), fill=(150, 150, 150))  # the pipe's mouth
    draw.ellipse((160, 138, 180, 162), fill=(60, 60, 60))
    draw_extra(draw)
    return image


def _font(size: int):
    """Pillow's own font at ``size`` pixels (ASCII only: no font file is needed)."""
    return ImageFont.load_default(size=size)


def signboard(draw: ImageDraw.ImageDraw) -> None:
    """A blue outfall signboard on two posts, with the code and a QR-like block."""
    draw.rectangle((38, 60, 42, 140), fill=(90, 90, 90))
    draw.rectangle((108, 60, 112, 140), fill=(90, 90, 90))
    draw.rectangle((20, 20, 130, 80), fill=(20, 70, 160), outline=(255, 255, 255), width=2)
    draw.text((28, 28), "OUTFALL", fill="white", font=_font(12))
    draw.text((28, 46), "HZ-WS-001", fill="white", font=_font(14))
    for x in range(0, 5):
        for y in range(0, 5):
            if (x * 3 + y) % 2 == 0:
                draw.rectangle((104 + x * 4, 46 + y * 4, 107 + x * 4, 49 + y * 4), fill="white")


def sampling_point(draw: ImageDraw.ImageDraw) -> None:
    """A square sampling well with a lid and a marker post."""
    draw.rectangle((200, 95, 260, 135), fill=(170, 170, 165), outline=(80, 80, 80), width=2)
    draw.rectangle((210, 100, 250, 112), fill=(90, 90, 90))
    draw.rectangle((268, 60, 272, 135), fill=(200, 40, 40))
    draw.text((200, 75), "SAMPLING", fill=(30, 30, 30), font=_font(11))


def murky(draw: ImageDraw.ImageDraw) -> None:
    """A grey plume where the pipe meets the water."""
    draw.ellipse((140, 165, 260, 215), fill=(95, 90, 80))


def nothing(_draw: ImageDraw.ImageDraw) -> None:
    """Nothing more: clean water."""


PHOTOS = {
    "hz-ws-001-signboard.jpg": ((70, 110, 150), signboard),
    "hz-ws-001-sampling-point.jpg": ((70, 110, 150), sampling_point),
    "hz-gy-001-before.jpg": ((120, 110, 90), murky),
    "hz-gy-001-after.jpg": ((60, 120, 160), nothing),
}


def pdf(lines: list[str], title: str) -> bytes:
    """A one-page PDF (A4) showing ``lines`` in Helvetica, ``title`` in its document info, with a
    correct cross-reference table."""
    def literal(text: str) -> str:
        """The text as a PDF string literal, its backslashes and brackets escaped."""
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 14 Tf 72 770 Td 18 TL " + " ".join(f"({literal(line)}) '" for line in lines) + " ET"
    title_hex = "FEFF" + title.encode("utf-16-be").hex().upper()
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        "/Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content.encode('ascii'))} >>\nstream\n{content}\nendstream",
        f"<< /Title <{title_hex}> /Producer (make_examples.py) >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("ascii")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode("ascii")
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode("ascii")
    out += (f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n"
            f"startxref\n{xref}\n%%EOF\n").encode("ascii")
    return bytes(out)


PERMIT = ("hz-ws-001-permit.pdf", [
    "Pollutant Discharge Permit (example, invented)",
    "Permit holder: Huzhong Town Wastewater Treatment Plant",
    "Outfall: HZ-WS-001, into the Huma River",
    "Standard: GB 18918-2002 Class 1A",
    "Valid: 2024-03-01 to 2029-02-28",
    "Issued by: Huzhong District Ecology and Environment Bureau",
], "排污许可证（示例）HZ-WS-001 呼中镇污水处理厂")


def main() -> None:
    """Write the example files beside this script."""
    for name, (water, extra) in PHOTOS.items():
        _scene(water, extra).save(HERE / name, format="JPEG", quality=70, optimize=True)
    name, lines, title = PERMIT
    (HERE / name).write_bytes(pdf(lines, title))


if __name__ == "__main__":
    main()
