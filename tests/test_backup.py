"""`portal backup` and `portal restore`: a backup made while residents submit reports restores whole,
and every refusal says why, exits 1 and changes nothing. On the suite's engine (SQLite, or PostgreSQL
through pg_dump and pg_restore in the PostgreSQL pass)."""
from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from databases import scratch_database
from PIL import Image
from sqlalchemy import func, select
from werkzeug.test import EnvironBuilder

from portal import create_app, demo
from portal.db import transaction
from portal.extensions import db
from portal.models import Outfall, OutfallPhoto, Report
from portal.photos import storage_for
from portal.reports.privacy import unseal

KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
OTHER_KEY = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
ON_POSTGRESQL = bool(os.environ.get("PORTAL_TEST_DATABASE_URL"))
PHOTOS_PER_REPORT = 2

SERVER = """
import sys
from werkzeug.serving import make_server
from portal import create_app
server = make_server("127.0.0.1", 0, create_app(), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


def jpeg(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (shade % 256, 120, 140)).save(buffer, "JPEG")
    return buffer.getvalue()


def phone_of(number: int) -> str:
    return f"1390000{number:04d}"


def report_form(number: int) -> dict:
    return {"category": "direct_discharge", "description": f"第 {number} 份：河边有一根管子往河里排灰色污水。",
            "consent": "y", "submit": "提交举报", "lat": "52.0306", "lon": "123.5888",
            "reporter_name": f"甄{number}", "reporter_phone": phone_of(number),
            "photos": [(io.BytesIO(jpeg(number * 7 + slot)), f"p{slot}.jpg") for slot in range(PHOTOS_PER_REPORT)]}


@contextmanager
def live_server(app):
    """The same portal (database, photo storage, keys) served by another process, as gunicorn would."""
    env = {**os.environ, "PORTAL_INSTANCE_PATH": app.instance_path, "PORTAL_DATABASE_URL": app.config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": app.config["SECRET_KEY"], "PORTAL_REPORTER_KEY": KEY,
           "PORTAL_WTF_CSRF_ENABLED": "false", "PORTAL_RATELIMIT_ENABLED": "false"}
    process = subprocess.Popen([sys.executable, "-c", SERVER], env=env, stdout=subprocess.PIPE, text=True)
    try:
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def submit(base_url: str, number: int) -> str:
    """Post the report form with photos as a browser without JavaScript; the tracking code of the 303."""
    form = EnvironBuilder(method="POST", data=report_form(number)).get_environ()
    body = form["wsgi.input"].read(int(form["CONTENT_LENGTH"]))
    request = urllib.request.Request(f"{base_url}/reports/new", data=body, method="POST",
                                     headers={"Content-Type": form["CONTENT_TYPE"]})
    try:
        urllib.request.build_opener(_NoRedirect).open(request, timeout=60)
    except urllib.error.HTTPError as answer:
        assert answer.code == 303, answer.read()[:500]
        return re.search(r"/reports/([^/]+)/submitted", answer.headers["Location"]).group(1)
    raise AssertionError("the report form did not answer 303")


class Submitter(threading.Thread):
    """Submits reports one after another until stopped; remembers which were acknowledged, and when."""

    def __init__(self, base_url: str):
        super().__init__(daemon=True)
        self.base_url, self.acknowledged, self.errors = base_url, {}, []
        self.stop, self.progress = threading.Event(), threading.Condition()

    def run(self):
        number = 0
        while not self.stop.is_set():
            number += 1
            try:
                code = submit(self.base_url, number)
            except Exception as error:  # noqa: BLE001 - the test reports it
                with self.progress:
                    self.errors.append(error)
                    self.progress.notify_all()
                return
            with self.progress:
                self.acknowledged[code] = number
                self.progress.notify_all()

    def wait_for(self, count: int):
        with self.progress:
            assert self.progress.wait_for(lambda: len(self.acknowledged) >= count or self.errors, timeout=120)
        assert not self.errors, self.errors

    def snapshot(self) -> dict:
        with self.progress:
            return dict(self.acknowledged)


@contextmanager
def fresh_instance(folder: Path, monkeypatch, *, migrated: bool = True, key: str = KEY):
    """A new, empty instance (database of its own, empty instance folder) as an operator sets one up."""
    from flask_migrate import upgrade

    folder.mkdir()
    with scratch_database(folder, "portal_restored") as url:
        monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(folder / "instance"))
        target = create_app({"TESTING": True, "SECRET_KEY": "restored", "REPORTER_KEY": key, "DATABASE_URL": url})
        if migrated:
            with target.app_context():
                upgrade()
        try:
            yield target
        finally:
            with target.app_context():
                db.session.remove()
                db.engine.dispose()


def run(app, *args):
    """A `portal` command against this app (its own context: the CLI takes the current app if one is pushed)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def everything_in(target) -> tuple:
    """What a refused restore must leave as it was: the reports and outfalls, and the files stored."""
    with target.app_context():
        tables = sorted(sa.inspect(db.engine).get_table_names())
        counts = (db.session.scalar(select(func.count()).select_from(Report)),
                  db.session.scalar(select(func.count()).select_from(Outfall))) if "report" in tables else None
        db.session.remove()
        root = storage_for(target).root
    return tables, counts, sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []


def test_a_backup_made_while_reports_arrive_restores_every_report_photo_and_contact(app, tmp_path, monkeypatch):
    with transaction():
        demo.seed()
        # A photo registered under the path a bureau's ledger named, not under a random key.
        outfall = db.session.scalars(select(Outfall).order_by(Outfall.code)).first()
        registered = storage_for(app).root / outfall.code / "整治前.jpg"
        registered.parent.mkdir(parents=True)
        registered.write_bytes(jpeg(1))
        db.session.add(OutfallPhoto(outfall=outfall, kind="before", storage_key=f"{outfall.code}/整治前.jpg",
                                    content_type="image/jpeg", width=640, height=480, sha256="0" * 64))
    db.session.remove()

    with live_server(app) as base_url:
        submitter = Submitter(base_url)
        submitter.start()
        try:
            submitter.wait_for(3)
            before_backup = submitter.snapshot()
            made = run(app, "backup", str(tmp_path / "backup"))
            after_backup = len(submitter.snapshot())
            submitter.wait_for(after_backup + 2)  # the portal went on taking reports after the backup
        finally:
            submitter.stop.set()
            submitter.join(timeout=120)
    assert made.exit_code == 0, made.output
    assert not submitter.errors, submitter.errors
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["files_missing"] == []
    assert manifest["counts"]["reports"] >= len(before_backup)
    assert manifest["counts"]["report_photos"] == manifest["counts"]["reports"] * PHOTOS_PER_REPORT
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) > manifest["counts"]["reports"]

    with fresh_instance(tmp_path / "new", monkeypatch) as target:
        restored = run(target, "restore", str(tmp_path / "backup"))
        assert restored.exit_code == 0, restored.output
        assert f"举报 {manifest['counts']['reports']} 份" in restored.output
        with target.app_context():
            reports = db.session.scalars(select(Report)).all()
            assert len(reports) == manifest["counts"]["reports"]
            codes = {report.tracking_code for report in reports}
            assert set(before_backup) <= codes  # every report acknowledged before the backup began
            storage = storage_for(target)
            for report in reports:
                number = int(re.search(r"第 (\d+) 份", report.description).group(1))
                assert unseal(report.reporter_phone_sealed) == phone_of(number)
                assert unseal(report.reporter_name_sealed) == f"甄{number}"
                assert len(report.photos) == PHOTOS_PER_REPORT
                for photo in report.photos:
                    for key in (photo.storage_key, photo.thumbnail_key):
                        Image.open(io.BytesIO(storage.open(key))).verify()
            ledger_photo = db.session.scalars(select(OutfallPhoto)).one()
            Image.open(io.BytesIO(storage.open_registered(ledger_photo.storage_key))).verify()
            page = target.test_client().get(f"/reports/{sorted(codes)[0]}")
            assert page.status_code == 200


@pytest.fixture
def small_backup(app, client, tmp_path):
    """A backup of the portal holding one submitted report with photos."""
    answer = client.post("/reports/new", data=report_form(1), content_type="multipart/form-data")
    assert answer.status_code == 303
    made = run(app, "backup", str(tmp_path / "backup"))
    assert made.exit_code == 0, made.output
    return tmp_path / "backup"


def test_the_keys_stay_out_of_a_backup_unless_asked_and_the_note_says_so(app, small_backup, tmp_path):
    for path in small_backup.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data and b"'test'" not in data, path
    note = (small_backup / "README.txt").read_text(encoding="utf-8")
    assert "不含 REPORTER_KEY" in note and "does NOT contain REPORTER_KEY" in note
    assert "无法读取举报人的联系方式" in note

    made = run(app, "backup", "--include-keys", str(tmp_path / "with-keys"))
    assert made.exit_code == 0, made.output
    keys = tmp_path / "with-keys" / "keys.py"
    assert f"REPORTER_KEY = {KEY!r}" in keys.read_text(encoding="utf-8")
    assert stat.S_IMODE(keys.stat().st_mode) == 0o600
    note = (tmp_path / "with-keys" / "README.txt").read_text(encoding="utf-8")
    assert "本备份内含密钥文件" in note and "CONTAINS the keys" in note and "Encrypt it" in note


def test_a_backup_never_overwrites_a_path(app, small_backup):
    before = sorted(p.name for p in small_backup.iterdir())
    made = run(app, "backup", str(small_backup))
    assert made.exit_code == 1
    assert "已存在" in made.output and "already exists" in made.output
    assert sorted(p.name for p in small_backup.iterdir()) == before
    assert [p.name for p in small_backup.parent.iterdir() if ".partial-" in p.name] == []


def test_restore_into_an_instance_holding_data_is_refused(app, small_backup, tmp_path, monkeypatch):
    before = everything_in(app)
    refused = run(app, "restore", str(small_backup))
    assert refused.exit_code == 1
    assert "数据库已有数据" in refused.output and "already holds data" in refused.output
    assert everything_in(app) == before

    with fresh_instance(tmp_path / "new", monkeypatch) as target:
        leftover = storage_for(target).root / "ab" / "leftover.jpg"
        leftover.parent.mkdir(parents=True)
        leftover.write_bytes(b"a photo of another instance")
        before = everything_in(target)
        refused = run(target, "restore", str(small_backup))
        assert refused.exit_code == 1
        assert "照片目录" in refused.output and "photo storage is not empty" in refused.output
        assert everything_in(target) == before


def test_a_tampered_backup_is_refused_before_anything_is_touched(small_backup, tmp_path, monkeypatch):
    photo = next(p for p in sorted((small_backup / "files").rglob("*")) if p.is_file())
    photo.write_bytes(photo.read_bytes()[:-1] + b"\x00")
    with fresh_instance(tmp_path / "new", monkeypatch) as target:
        before = everything_in(target)
        refused = run(target, "restore", str(small_backup))
        assert refused.exit_code == 1
        assert "校验值不符" in refused.output and "checksum mismatch" in refused.output
        assert photo.relative_to(small_backup).as_posix() in refused.output
        assert everything_in(target) == before
        assert before[1:] == ((0, 0), [])


def test_a_backup_without_its_key_note_is_refused(small_backup, tmp_path, monkeypatch):
    (small_backup / "README.txt").unlink()
    with fresh_instance(tmp_path / "new", monkeypatch, migrated=False) as target:
        before = everything_in(target)
        refused = run(target, "restore", str(small_backup))
        assert refused.exit_code == 1
        assert "README.txt" in refused.output and "note on the keys" in refused.output
        assert everything_in(target) == before


def test_restore_with_another_reporter_key_is_refused(small_backup, tmp_path, monkeypatch):
    with fresh_instance(tmp_path / "new", monkeypatch, key=OTHER_KEY) as target:
        before = everything_in(target)
        refused = run(target, "restore", str(small_backup))
        assert refused.exit_code == 1
        assert "REPORTER_KEY 与备份时的不同" in refused.output and "--ignore-reporter-key" in refused.output
        assert everything_in(target) == before


def test_restore_into_an_unmigrated_instance_builds_it_and_says_what_it_restored(small_backup, tmp_path, monkeypatch):
    with fresh_instance(tmp_path / "new", monkeypatch, migrated=False) as target:
        restored = run(target, "restore", str(small_backup))
        assert restored.exit_code == 0, restored.output
        assert "举报 1 份" in restored.output and f"举报照片 {PHOTOS_PER_REPORT} 张" in restored.output
        with target.app_context():
            report = db.session.scalars(select(Report)).one()
            assert unseal(report.reporter_phone_sealed) == phone_of(1)


def test_restoring_across_engines_is_refused_with_the_reason(small_backup, tmp_path, monkeypatch):
    manifest_path = small_backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    other = "sqlite" if ON_POSTGRESQL else "postgresql"
    manifest["engine"] = other
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with fresh_instance(tmp_path / "new", monkeypatch) as target:
        before = everything_in(target)
        refused = run(target, "restore", str(small_backup))
        assert refused.exit_code == 1
        assert "不支持跨数据库恢复" in refused.output and "across engines" in refused.output
        assert everything_in(target) == before


@pytest.mark.skipif(not ON_POSTGRESQL, reason="pg_dump is used only on PostgreSQL (the PostgreSQL pass runs this)")
def test_without_a_usable_pg_dump_the_backup_is_refused_and_nothing_written(app, tmp_path, monkeypatch):
    tools = tmp_path / "tools"
    tools.mkdir()
    monkeypatch.setenv("PATH", str(tools))
    missing = run(app, "backup", str(tmp_path / "b1"))
    assert missing.exit_code == 1
    assert "找不到 pg_dump" in missing.output and "postgresql-client" in missing.output

    old = tools / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n")
    old.chmod(0o755)
    too_old = run(app, "backup", str(tmp_path / "b2"))
    assert too_old.exit_code == 1
    assert "低于数据库服务器版本" in too_old.output and "older than the server" in too_old.output
    assert not (tmp_path / "b1").exists() and not (tmp_path / "b2").exists()
    assert not any(".partial-" in p.name for p in tmp_path.iterdir())
