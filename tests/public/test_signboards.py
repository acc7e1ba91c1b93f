"""Signboards (一口一码): the QR codes decode to the outfall's page, the A4 boards carry what the law asks."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import date
from io import BytesIO

import zxingcpp
from factories import (
    make_chief,
    make_outfall,
    make_party,
    make_person,
    make_sample,
    make_town,
    make_water_body,
)
from helpers import commit_and_forget, counted_statements, parse, static_url, text_of
from PIL import Image

from portal.extensions import db
from portal.models import RiverChief

SVG = "{http://www.w3.org/2000/svg}"
SCALE = 8


# --- reading QR codes as a phone would ----------------------------------------------------------------------------


def svg_modules(svg: bytes) -> list[list[bool]]:
    """The dark modules an SVG QR code draws, read from its path (segno draws each run as "h" strokes)."""
    root = ET.fromstring(svg)
    width, height = (int(float(v)) for v in root.get("viewBox").split()[2:])
    modules = [[False] * width for _ in range(height)]
    (path,) = [p for p in root.iter(f"{SVG}path") if p.get("class") == "qr-modules"]
    x = y = 0.0
    for command, numbers in re.findall(r"([MmHh])([-\d.\s]*)", path.get("d")):
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            end = values[0] if command == "H" else x + values[0]
            for column in range(int(x), int(end)):
                modules[int(y)][column] = True
            x = end
    return modules


def png_modules(png: bytes, size: int) -> list[list[bool]]:
    """The dark modules of a QR PNG, sampled at the centre of each module."""
    image = Image.open(BytesIO(png)).convert("L")
    scale = image.width / size
    return [[image.getpixel((int((col + 0.5) * scale), int((row + 0.5) * scale))) < 128 for col in range(size)]
            for row in range(size)]


def raster(modules: list[list[bool]]) -> Image.Image:
    """Black-on-white pixels of a module matrix, as a camera would see the printed code."""
    size = len(modules)
    image = Image.new("L", (size * SCALE, size * SCALE), 255)
    for row, line in enumerate(modules):
        for col, dark in enumerate(line):
            if dark:
                image.paste(0, (col * SCALE, row * SCALE, (col + 1) * SCALE, (row + 1) * SCALE))
    return image


def decode(image: Image.Image) -> str:
    """The text of the one QR code in an image."""
    (barcode,) = zxingcpp.read_barcodes(image)
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    return barcode.text


# --- QR codes -----------------------------------------------------------------------------------------------------


def test_served_svg_qr_decodes_to_the_outfalls_absolute_url(client):
    make_outfall("HZ-001")
    commit_and_forget()

    response = client.get("/outfalls/HZ-001/qr.svg")

    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert decode(raster(svg_modules(response.data))) == "http://portal.test/outfalls/HZ-001"


def test_svg_and_png_draw_the_same_code(client):
    make_outfall("HZ-002")
    commit_and_forget()

    svg = client.get("/outfalls/HZ-002/qr.svg")
    png = client.get("/outfalls/HZ-002/qr.png")

    assert png.status_code == 200 and png.mimetype == "image/png"
    modules = svg_modules(svg.data)
    assert png_modules(png.data, len(modules)) == modules
    assert decode(Image.open(BytesIO(png.data))) == "http://portal.test/outfalls/HZ-002"


def test_qr_uses_the_public_base_url_when_set(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://hz.example.cn/portal/"
    make_outfall("HZ-003", national_code="23276400300")
    commit_and_forget()

    svg = client.get("/outfalls/HZ-003/qr.svg")
    # Named by its national code, the outfall's code still goes on the board: one URL per outfall.
    png = client.get("/outfalls/23276400300/qr.png")

    assert decode(raster(svg_modules(svg.data))) == "https://hz.example.cn/portal/outfalls/HZ-003"
    assert decode(Image.open(BytesIO(png.data))) == "https://hz.example.cn/portal/outfalls/HZ-003"


def test_qr_is_cacheable_and_answers_not_modified(client):
    make_outfall("HZ-004")
    commit_and_forget()

    first = client.get("/outfalls/HZ-004/qr.svg")
    again = client.get("/outfalls/HZ-004/qr.svg", headers={"If-None-Match": first.headers["ETag"]})

    assert first.cache_control.public and first.cache_control.max_age >= 3600
    assert again.status_code == 304


def test_qr_and_signboard_of_an_unknown_outfall_are_not_found(client):
    commit_and_forget()

    for path in ("/outfalls/HZ-404/qr.svg", "/outfalls/HZ-404/qr.png", "/outfalls/HZ-404/sign"):
        response = client.get(path)
        assert response.status_code == 404, path
    assert "HZ-404" in text_of(client.get("/outfalls/HZ-404/sign"))


def test_qr_stays_the_same_when_the_chief_changes(client):
    river, town = make_water_body("呼玛河"), make_town("呼中镇")
    make_chief("旧河长", water_body=river, town=town)
    make_outfall("HZ-005", water_body=river, town=town)
    commit_and_forget()
    before = client.get("/outfalls/HZ-005/qr.svg").data
    assert "旧河长" in text_of(client.get("/outfalls/HZ-005/sign"))

    db.session.scalar(db.select(RiverChief)).name = "新河长"
    commit_and_forget()

    assert client.get("/outfalls/HZ-005/qr.svg").data == before
    sign = text_of(client.get("/outfalls/HZ-005/sign"))
    assert "新河长" in sign and "旧河长" not in sign


# --- the A4 signboard ---------------------------------------------------------------------------------------------


def test_signboard_carries_the_outfalls_facts_people_telephone_and_qr(app, client):
    app.config["REPORT_TELEPHONE"] = "0457-7654321"
    town, river = make_town("呼中镇"), make_water_body("呼玛河", supervision_telephone="0457-3322101")
    make_chief("周河长", level="town", water_body=river, town=town, title="呼中镇党委书记")
    make_chief("区河长", level="district", water_body=river)
    outfall = make_outfall("HZ-010", national_code="N-232764-010", name="呼中镇木材厂排污口", town=town,
                           water_body=river, outfall_type="industrial", outfall_subtype="industrial_enterprise",
                           party=make_party("呼中示例木业有限公司"), supervising_leader="王局长")
    make_sample(outfall, "NH3-N", 1.0)
    make_sample(outfall, "COD", 20.0)
    commit_and_forget()

    response = client.get("/outfalls/HZ-010/sign")

    assert response.status_code == 200
    html, page = response.get_data(as_text=True), text_of(response)
    for expected in ("入河排污口标识牌", "呼中镇木材厂排污口", "HZ-010", "N-232764-010", "工业排污口（工矿企业排污口）",
                     "呼玛河（水质目标：III 类）", "呼中示例木业有限公司", "王局长", "周河长（呼中镇党委书记）",
                     "COD、NH3-N", "0457-7654321", "0457-3322101", "扫码查看排污口信息与整治进展",
                     "使用浏览器打印（Ctrl+P）", "http://portal.test/outfalls/HZ-010"):
        assert expected in page, expected
    assert "区河长" not in page  # the board names the town's chief
    assert re.search(r'<h1 class="sign-title">入河排污口标识牌</h1>', html)
    assert re.search(r'<img class="sign-qr" src="/outfalls/HZ-010/qr.svg"[^>]*alt="[^"]+"', html)
    assert f'<link rel="stylesheet" href="{static_url("css/print.css")}">' in html
    assert re.search(r'<button type="button" class="button print-button" data-print hidden>', html)
    assert "sign-demo-band" not in html


def test_signboard_falls_back_to_the_towns_chief_on_another_river(client):
    town = make_town("呼中镇")
    make_chief("镇总河长", level="town", water_body=make_water_body("呼玛河"), town=town)
    make_outfall("HZ-011", town=town, water_body=make_water_body("呼中水库"))
    make_outfall("HZ-012", town=make_town("碧水镇"), water_body=make_water_body("碧水河"))
    commit_and_forget()

    assert "镇总河长" in text_of(client.get("/outfalls/HZ-011/sign"))
    board = text_of(client.get("/outfalls/HZ-012/sign"))
    assert "镇级河长 没有记录" in board


def test_signboard_masks_a_person_and_marks_demo_data(client):
    make_outfall("DEMO-HZ-013", party=make_person("张立新"), party_telephone="13912345678", is_demo=True)
    commit_and_forget()

    response = client.get("/outfalls/DEMO-HZ-013/sign")

    html = response.get_data(as_text=True)
    assert "张**" in html and "立新" not in html and "13912345678" not in html
    assert "演示数据：虚构的排污口，不是真实标识牌" in text_of(response)


def test_print_stylesheet_lays_out_one_a4_board_per_page(client):
    with client.get("/static/css/print.css") as response:
        css = response.get_data(as_text=True)

    assert re.search(r"@page\s*{[^}]*size:\s*A4", css)
    print_rules = css[css.index("@media print"):]
    assert re.search(r"\.sign\s*{[^}]*break-after:\s*page", print_rules)
    assert re.search(r"\.sign\s*{[^}]*page-break-after:\s*always", print_rules)
    assert ".site-header" in print_rules and ".sign-tools" in print_rules


# --- every board of a town ----------------------------------------------------------------------------------------


def test_town_page_has_a_board_for_each_of_its_outfalls_one_per_page(client):
    town, other = make_town("呼源镇"), make_town("碧水镇")
    for code in ("HY-003", "HY-001", "HY-002"):
        make_outfall(code, town=town, name=f"呼源镇排口{code}")
    make_outfall("HY-009", town=town, name="已取缔的排口",
                 plan={"measure": "ban", "status": "closed", "completed_on": date(2024, 1, 1)})
    make_outfall("BS-001", town=other)
    town_id = town.id
    commit_and_forget()

    response = client.get(f"/towns/{town_id}/signs")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    boards = re.findall(r'<article class="sign[^"]*" id="sign-([^"]+)"', html)
    assert boards == ["HY-001", "HY-002", "HY-003"]
    assert len(re.findall(r'<h2 class="sign-title">入河排污口标识牌</h2>', html)) == 3
    assert len(re.findall(r'<img class="sign-qr" src="/outfalls/HY-00\d/qr.svg"', html)) == 3
    assert "BS-001" not in html
    # An outfall already removed gets no board, and the page says so.
    assert "HY-009" not in boards and "/outfalls/HY-009" in parse(response).links
    assert "不再设置标识牌" in text_of(response)
    assert "共 3 块标识牌，打印时每块占一页" in text_of(response)
    assert f'<link rel="stylesheet" href="{static_url("css/print.css")}">' in html


def test_unknown_town_is_not_found(client):
    commit_and_forget()

    assert client.get("/towns/999/signs").status_code == 404


def test_town_page_statement_count_does_not_grow_with_outfalls(client):
    river = make_water_body("岭峰河")
    towns = {count: make_town(f"测试镇{count}") for count in (2, 12)}
    for count, town in towns.items():
        make_chief(f"镇河长{count}", water_body=river, town=town)
        for number in range(count):
            outfall = make_outfall(f"T{count}-{number:03d}", town=town, water_body=river,
                                   party=make_party(f"单位{count}-{number}"))
            make_sample(outfall, "COD", 10.0)
    ids = {count: town.id for count, town in towns.items()}
    commit_and_forget()

    statements = {}
    for count, town_id in ids.items():
        with counted_statements() as statements[count]:
            response = client.get(f"/towns/{town_id}/signs")
        assert len(re.findall(r'<article class="sign', response.get_data(as_text=True))) == count
        db.session.remove()

    assert len(statements[12]) == len(statements[2]) <= 7, statements[12]
