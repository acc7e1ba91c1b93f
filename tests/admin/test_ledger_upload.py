"""Uploading a ledger in the back office: a dry run that writes nothing, then the import of exactly that file;
refusals by row and column; unknown towns refused with a suggestion or created when confirmed; the staged
file bound to the uploading session and deleted after the import."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from factories import make_town
from ledger_files import BUREAU_TOWNS, row, write_csv, write_xlsx
from portal.extensions import db
from portal.models import AuditEntry, Outfall, OutfallEvent, Town
from portal.registry.ledger_import import import_ledger
from portal.db import transaction


@pytest.fixture
def towns(app):
    """The district's four towns."""
    for name in BUREAU_TOWNS:
        make_town(name)
    db.session.commit()


@pytest.fixture
def admin_client(app, client, make_account, sign_in, towns):
    """A client signed in as the bureau's administrator."""
    sign_in(client, make_account("admin"))
    return client


def count(model) -> int:
    """How many rows the table holds."""
    return db.session.scalar(select(func.count()).select_from(model))


def upload(client, path: Path):
    """POST the file to the upload form, as the browser does."""
    return client.post("/admin/outfalls/import", data={"ledger": (io.BytesIO(path.read_bytes()), path.name)},
                       content_type="multipart/form-data")


def token_of(page: str) -> str:
    """The staged upload's token, from the confirmation form of a dry-run page."""
    return re.search(r'name="token" value="([^"]+)"', page).group(1)


def staged_files(app) -> list[Path]:
    """The files waiting in the private staging folder."""
    root = Path(app.instance_path) / "staged-uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_the_outfall_list_links_to_the_upload_for_the_bureau_only(app, client, make_account, sign_in, towns):
    sign_in(client, make_account("admin"))
    assert "/admin/outfalls/import" in client.get("/admin/outfalls").get_data(as_text=True)
    other = app.test_client()
    sign_in(other, make_account("town", town=make_town("呼中镇")))
    assert "/admin/outfalls/import" not in other.get("/admin/outfalls").get_data(as_text=True)
    assert other.get("/admin/outfalls/import").status_code == 403


def test_a_dry_run_shows_additions_and_changes_and_writes_nothing(app, admin_client, tmp_path):
    with transaction():
        import_ledger(write_xlsx(tmp_path / "first.xlsx", [row("HZ-T-0001")]))
    events = count(OutfallEvent)
    path = write_xlsx(tmp_path / "台账2026-11.xlsx", [row("HZ-T-0001", 排污口名称="改名的排污口", 整治进展="已完成"),
                                                    row("HZ-T-0002")])
    response = upload(admin_client, path)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "试运行：台账2026-11.xlsx" in page and "将新增 1 个，将修改 1 个" in page
    assert "HZ-T-0002" in page and "测试排污口HZ-T-0001 → 改名的排污口" in page and "整治中 → 已完成" in page
    assert "确认导入" in page
    assert "（试运行：未写入数据库）" in page  # the importer's own report, as the command prints it
    db.session.expire_all()
    assert count(Outfall) == 1 and count(OutfallEvent) == events
    assert db.session.scalar(select(Outfall.name).where(Outfall.code == "HZ-T-0001")) == "测试排污口HZ-T-0001"
    assert len(staged_files(app)) == 1


def test_confirming_imports_exactly_the_checked_file_and_deletes_it(app, admin_client, tmp_path):
    page = upload(admin_client, write_csv(tmp_path / "ledger.csv", [row("HZ-T-0001"), row("HZ-T-0002")])).get_data(as_text=True)
    response = admin_client.post("/admin/outfalls/import/confirm", data={"token": token_of(page), "submit": "确认导入"})
    done = response.get_data(as_text=True)
    assert response.status_code == 200 and "台账已导入：ledger.csv" in done and "已新增 2 个" in done
    db.session.expire_all()
    assert count(Outfall) == 2
    assert db.session.scalar(select(OutfallEvent.source).where(OutfallEvent.kind == "created")) == "台账导入：ledger.csv"
    assert db.session.scalar(select(AuditEntry.subject_label).where(AuditEntry.action == "ledger_imported")) == "ledger.csv"
    assert staged_files(app) == []
    # The token is spent: a second confirmation imports nothing again.
    again = admin_client.post("/admin/outfalls/import/confirm", data={"token": token_of(page), "submit": "确认导入"})
    assert again.status_code == 400 and "请重新上传台账" in again.get_data(as_text=True)


def test_a_refused_file_is_listed_by_row_and_column_and_writes_nothing(app, admin_client, tmp_path):
    path = write_xlsx(tmp_path / "bad.xlsx", [row("OK-1"), row("BAD-1", 整治时限="2026-13-01"), row("BAD-2", 经度="abc")])
    response = upload(admin_client, path)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "发现 2 处错误" in page
    assert "第 6 行" in page and "整治时限" in page and "不是存在的日期" in page
    assert "第 7 行" in page and "经度" in page
    assert "确认导入" not in page
    # Even a forged confirmation of the refused file writes nothing.
    forged = admin_client.post("/admin/outfalls/import/confirm", data={"token": token_of(page), "submit": "确认导入"})
    assert forged.status_code == 422
    db.session.expire_all()
    assert count(Outfall) == 0


def test_a_garbage_file_is_refused_in_words(app, admin_client, tmp_path):
    path = tmp_path / "ledger.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0 not really")
    page = upload(admin_client, path).get_data(as_text=True)
    assert "不支持旧版 Excel" in page and count(Outfall) == 0


def test_an_unknown_town_is_refused_with_a_suggestion(app, admin_client, tmp_path):
    page = upload(admin_client, write_xlsx(tmp_path / "typo.xlsx", [row("T-1", 所在镇="碧水")])).get_data(as_text=True)
    assert "所在镇" in page and "镇“碧水”不在系统中；是否应为“碧水镇”？" in page
    assert 'value="碧水"' in page  # offered as a new town to tick, never ticked for the clerk
    assert "checked" not in page and "确认导入" not in page
    assert count(Town) == 4


def test_a_confirmed_new_town_is_created(app, admin_client, tmp_path):
    page = upload(admin_client, write_xlsx(tmp_path / "new.xlsx", [row("T-1", 所在镇="雄关镇")])).get_data(as_text=True)
    token = token_of(page)
    checked = admin_client.post("/admin/outfalls/import/confirm",
                                data={"token": token, "create_towns": ["雄关镇"], "check": "重新试运行"})
    page = checked.get_data(as_text=True)
    assert checked.status_code == 200 and "将新增镇：雄关镇" in page and "确认导入" in page
    assert count(Town) == 4
    done = admin_client.post("/admin/outfalls/import/confirm",
                             data={"token": token, "create_towns": ["雄关镇"], "submit": "确认导入"})
    assert done.status_code == 200 and "已新增镇：雄关镇" in done.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(Outfall).where(Outfall.code == "T-1")).town.name == "雄关镇"


def test_confirming_without_ticking_the_new_town_writes_nothing(app, admin_client, tmp_path):
    page = upload(admin_client, write_xlsx(tmp_path / "new.xlsx", [row("T-1", 所在镇="雄关镇")])).get_data(as_text=True)
    refused = admin_client.post("/admin/outfalls/import/confirm", data={"token": token_of(page), "submit": "确认导入"})
    assert refused.status_code == 422 and "镇“雄关镇”不在系统中" in refused.get_data(as_text=True)
    assert count(Town) == 4 and count(Outfall) == 0


def test_a_token_from_another_session_does_not_work(app, admin_client, make_account, sign_in, tmp_path):
    page = upload(admin_client, write_xlsx(tmp_path / "l.xlsx", [row("T-1")])).get_data(as_text=True)
    other = app.test_client()
    sign_in(other, make_account("admin"))
    stolen = other.post("/admin/outfalls/import/confirm", data={"token": token_of(page), "submit": "确认导入"})
    assert stolen.status_code == 400 and "不属于当前登录" in stolen.get_data(as_text=True)
    assert count(Outfall) == 0
    assert admin_client.post("/admin/outfalls/import/confirm",
                             data={"token": "../../etc", "submit": "确认导入"}).status_code == 400


def test_an_expired_upload_is_refused_and_swept(app, admin_client, tmp_path, monkeypatch):
    from portal.admin import staged_uploads

    page = upload(admin_client, write_xlsx(tmp_path / "l.xlsx", [row("T-1")])).get_data(as_text=True)
    monkeypatch.setattr(staged_uploads, "STAGING_SECONDS", -1)
    expired = admin_client.post("/admin/outfalls/import/confirm", data={"token": token_of(page), "submit": "确认导入"})
    assert expired.status_code == 400 and count(Outfall) == 0
    assert staged_files(app) == []


def test_staged_files_are_never_served(app, admin_client, tmp_path):
    upload(admin_client, write_xlsx(tmp_path / "l.xlsx", [row("T-1")]))
    (staged,) = staged_files(app)
    for path in (f"/static/../instance/staged-uploads/{staged.parent.name}/l.xlsx",
                 f"/staged-uploads/{staged.parent.name}/l.xlsx"):
        assert admin_client.get(path).status_code == 404


# --- the bureau's own ledger (examples/bureau/ledger.csv) ----------------------------------------

BUREAU = Path(__file__).resolve().parents[2] / "examples" / "bureau"


def test_the_bureaus_ledger_imports_after_its_towns_by_the_command(app, runner):
    assert runner.invoke(args=["import-areas", str(BUREAU / "towns.geojson")]).exit_code == 0
    result = runner.invoke(args=["import-ledger", str(BUREAU / "ledger.csv")])
    assert result.exit_code == 0, result.output
    assert "已新增 5 个" in result.output and "新增镇" not in result.output
    db.session.remove()
    outfalls = {o.code: o for o in db.session.scalars(select(Outfall))}
    assert set(outfalls) == {"HZ-GY-001", "HZ-WS-001", "BS-XQ-001", "HW-NC-001", "HY-YS-001"}
    farm = outfalls["BS-XQ-001"]
    assert (farm.town.name, farm.water_body.name, farm.outfall_subtype) == ("碧水镇", "碧水河", "livestock_large")
    assert farm.responsible_party.name == "张立新" and farm.responsible_party.kind == "person"
    assert outfalls["HZ-WS-001"].outfall_type == "municipal_wwtp" and outfalls["HZ-WS-001"].supervising_leader == "李明"
    assert outfalls["HW-NC-001"].plan.completed_on > outfalls["HW-NC-001"].plan.deadline  # finished late
    assert runner.invoke(args=["import-ledger", str(BUREAU / "ledger.csv")]).output.count("无变化 5 个") == 1


def test_the_bureaus_ledger_uploads_in_the_browser(app, admin_client):
    page = upload(admin_client, BUREAU / "ledger.csv").get_data(as_text=True)
    assert "将新增 5 个" in page and "BS-XQ-001" in page
    done = admin_client.post("/admin/outfalls/import/confirm", data={"token": token_of(page), "submit": "确认导入"})
    assert "已新增 5 个" in done.get_data(as_text=True)
    public = admin_client.get("/outfalls/BS-XQ-001").get_data(as_text=True)
    assert "张立新" not in public and "张*" in public  # a natural person's name is masked in public


def test_a_token_staged_for_one_kind_of_file_does_not_import_another(app, admin_client, tmp_path):
    from portal.admin import staged_uploads

    with app.test_request_context():
        from werkzeug.datastructures import FileStorage

        token, path = staged_uploads.stage(FileStorage(io.BytesIO(b"x"), "chiefs.csv"), "chiefs")
        assert staged_uploads.staged(token, "ledger") is None
        assert staged_uploads.staged(token, "chiefs") == path
        staged_uploads.discard(token)
        assert not path.exists()
