"""A portal that knows only the bureau's own files — no demo data — read by a resident in a browser.

The held-in examples in ``examples/bureau/`` are loaded through the CLI, in the order the README gives,
onto a fresh database; then the public pages must show what each file brought: rivers and their chiefs,
sections and their verdicts, monitoring judged by the standard that applies, photos, documents and
the responsible parties.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_server import new_page, serve_portal
from playwright.sync_api import expect

BUREAU = Path(__file__).resolve().parents[2] / "examples" / "bureau"
# The bureau's files, in the order the README loads them (each refers to what the earlier ones brought).
LOADING = [
    ("import-areas", "towns.geojson"), ("import-waters", "waters.geojson"), ("import-chiefs", "chiefs.csv"),
    ("import-ledger", "ledger.csv"), ("import-sections", "sections.csv"),
    ("import-samples", "samples-long.xlsx"), ("import-samples", "samples-wide.csv"),
    ("import-photos", "photos"), ("snapshot-progress", None),
]


def load_bureau_files(app):
    """Run each import command on the fresh database, as a clerk would, and insist each succeeds."""
    runner = app.test_cli_runner()
    for command, name in LOADING:
        result = runner.invoke(args=[command] + ([str(BUREAU / name)] if name else []))
        assert result.exit_code == 0, f"portal {command} {name}: {result.output}"


@pytest.fixture(scope="module")
def bureau_server(tmp_path_factory):
    """The portal with only the bureau's files loaded (no demo), on a free local port."""
    with serve_portal(tmp_path_factory.mktemp("bureau"), "portal_bureau", prepare=load_bureau_files,
                      seed_demo=False) as url:
        yield url


@pytest.fixture
def resident(browser, bureau_server):
    """A resident's phone-sized browser page on that portal."""
    page = new_page(browser, bureau_server)
    yield page
    page.context.close()


def test_the_river_board_shows_the_chiefs_goals_and_sections_from_the_bureaus_files(resident):
    resident.goto("/rivers")
    resident.get_by_role("link", name=re.compile("呼玛河")).first.click()
    board = resident.locator("main")
    expect(board).to_contain_text("王建国")  # the district chief, from chiefs.csv
    expect(board).to_contain_text("李明")  # the town chief
    expect(board).to_contain_text("DM-HMH-02")  # a section from sections.csv
    expect(board).to_contain_text("HZ-WS-001")  # an outfall from the ledger
    expect(board).not_to_contain_text("演示")


def test_an_outfall_page_shows_its_monitoring_by_the_standard_that_applies_photos_and_documents(resident):
    resident.goto("/outfalls/HZ-WS-001")
    main = resident.locator("main")
    expect(resident.locator("h1")).to_contain_text("呼中镇污水处理厂排污口")
    # Effluent of a treatment plant is judged by GB 18918, never by the river's GB 3838 class.
    expect(main).to_contain_text("GB 18918-2002")
    expect(main).to_contain_text("超标")  # the warm-water NH3-N result of samples-long.xlsx
    expect(main).to_contain_text("DM-HMH-02")  # the section downstream, with how it fared
    expect(resident.locator("main img").first).to_be_visible()  # the signboard photo from photos/
    document = resident.get_by_role("link", name=re.compile("排污许可证"))
    expect(document.first).to_be_visible()
    with resident.expect_download() as download:
        document.first.click()
    assert download.value.suggested_filename.endswith(".pdf")


def test_a_section_page_judges_its_water_by_gb_3838(resident):
    resident.goto("/sections/DM-HMH-02")
    main = resident.locator("main")
    expect(main).to_contain_text("GB 3838-2002")
    expect(main).to_contain_text("III")
    expect(main).to_contain_text("呼玛河")


def test_the_list_of_responsible_parties_masks_a_farmer_and_names_the_units(resident):
    resident.goto("/parties")
    main = resident.locator("main")
    expect(main).to_contain_text("呼中区林产品加工有限公司")
    expect(main).to_contain_text("设置申请单位")  # the basis the ledger gives (责任主体认定依据)
    expect(main).to_contain_text("张**")
    expect(main).not_to_contain_text("张立新")


def test_the_map_draws_the_rivers_and_sections_of_the_bureaus_files(resident):
    resident.goto("/")
    waters = resident.request.get("/api/v1/waters.geojson").json()
    assert {feature["properties"]["name"] for feature in waters["features"]} >= {"呼玛河", "碧水河", "呼中水库"}
    sections = resident.request.get("/api/v1/sections.geojson").json()
    assert {feature["properties"]["code"] for feature in sections["features"]} >= {"DM-HMH-01", "DM-HMH-02"}
    # The rivers are drawn from the portal's own data (no basemap in tests): paths in the map's panes.
    expect(resident.locator(".leaflet-waters-pane path").first).to_be_attached()
