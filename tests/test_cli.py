"""The `portal` command: each registry command end to end, and `portal init`."""
from __future__ import annotations

import json
import subprocess
import sys

from click.testing import CliRunner
from sqlalchemy import func, select

from portal.cli import init_command
from portal.extensions import db
from portal.models import Outfall, Town
from ledger_files import row, write_xlsx


def outfall_count():
    return db.session.scalar(select(func.count()).select_from(Outfall))


def test_import_ledger_dry_run_then_for_real(runner, sample_ledger):
    result = runner.invoke(args=["import-ledger", "--dry-run", "--create-towns", str(sample_ledger)])
    assert result.exit_code == 0, result.output
    assert "将新增 24 个" in result.output and "试运行" in result.output
    assert outfall_count() == 0
    result = runner.invoke(args=["import-ledger", "--create-towns", str(sample_ledger)])
    assert result.exit_code == 0 and "已新增 24 个" in result.output
    assert outfall_count() == 24


def test_import_ledger_refusal_exits_non_zero_and_names_rows(runner, tmp_path):
    path = write_xlsx(tmp_path / "bad.xlsx", [row(), row("X-2", 整治时限="明年")])
    result = runner.invoke(args=["import-ledger", "--create-towns", str(path)])
    assert result.exit_code == 1
    assert "第 6 行「整治时限」" in result.output and "数据库未作任何更改" in result.output
    assert outfall_count() == 0


def test_import_commands_commit_their_work_and_a_dry_run_does_not(runner, sample_ledger, tmp_path):
    # The importers only flush: a row still there after the session is thrown away was committed.
    assert runner.invoke(args=["import-ledger", "--dry-run", "--create-towns", str(sample_ledger)]).exit_code == 0
    db.session.remove()
    assert outfall_count() == 0
    assert runner.invoke(args=["import-ledger", "--create-towns", str(sample_ledger)]).exit_code == 0
    db.session.remove()
    assert outfall_count() == 24
    town = {"type": "Feature", "properties": {"name": "呼中镇"},
            "geometry": {"type": "Polygon", "coordinates": [[[123.5, 52.0], [123.6, 52.0], [123.6, 52.1], [123.5, 52.0]]]}}
    (tmp_path / "towns.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": [town]}), encoding="utf-8")
    assert runner.invoke(args=["import-areas", str(tmp_path / "towns.geojson")]).exit_code == 0
    db.session.remove()
    assert db.session.scalar(select(Town.boundary_source).where(Town.name == "呼中镇")) == "towns.geojson"


def test_seed_demo_commits_the_demo_registry(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.remove()
    assert outfall_count() == 60


def test_export_ledger(runner, sample_ledger, tmp_path):
    runner.invoke(args=["import-ledger", "--create-towns", str(sample_ledger)])
    result = runner.invoke(args=["export-ledger", str(tmp_path / "out.xlsx")])
    assert result.exit_code == 0 and "已导出 24 个排污口" in result.output
    assert (tmp_path / "out.xlsx").stat().st_size > 0
    result = runner.invoke(args=["export-ledger", str(tmp_path / "out.csv")])
    assert result.exit_code != 0 and ".xlsx" in result.output


def test_init_writes_keys_once_and_fills_in_missing_ones(tmp_path):
    result = CliRunner().invoke(init_command, ["--instance", str(tmp_path)])
    assert result.exit_code == 0
    config = (tmp_path / "config.py").read_text(encoding="utf-8")
    assert "SECRET_KEY = '" in config and "REPORTER_KEY = '" in config
    again = CliRunner().invoke(init_command, ["--instance", str(tmp_path)])
    assert "未改动" in again.output and (tmp_path / "config.py").read_text(encoding="utf-8") == config

    older = tmp_path / "older"
    older.mkdir()
    (older / "config.py").write_text("SECRET_KEY = 'kept'\nREPORT_TELEPHONE = '0457-1'\n", encoding="utf-8")
    CliRunner().invoke(init_command, ["--instance", str(older)])
    upgraded = (older / "config.py").read_text(encoding="utf-8")
    assert "SECRET_KEY = 'kept'" in upgraded and upgraded.count("SECRET_KEY") == 1
    assert "REPORTER_KEY = '" in upgraded and "REPORT_TELEPHONE = '0457-1'" in upgraded


def test_console_script_upgrades_an_empty_database_and_refuses_bad_config(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_SECRET_KEY": "k", "PORTAL_REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
           "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/fresh.db"}
    portal = [sys.executable, "-c", "from portal.cli import main; main()"]
    done = subprocess.run([*portal, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*portal, "import-ledger", "--help"], env=env, capture_output=True, text=True)
    assert "--dry-run" in done.stdout
    env.pop("PORTAL_SECRET_KEY")
    done = subprocess.run([*portal, "db", "upgrade"], env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "SECRET_KEY" in done.stderr


def test_an_unexpected_error_during_import_is_one_line_not_a_traceback(runner, tmp_path, monkeypatch):
    from portal.registry import ledger_import

    def broken_write(*args, **kwargs):
        raise RuntimeError("磁盘已满\n（第二行细节）")

    monkeypatch.setattr(ledger_import, "_write", broken_write)
    path = write_xlsx(tmp_path / "ok.xlsx", [row()])
    result = runner.invoke(args=["import-ledger", "--create-towns", str(path)])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2
    assert result.output.strip() == "台账“ok.xlsx”未导入，数据库未作任何更改：RuntimeError：磁盘已满。"
    assert outfall_count() == 0


def test_an_unwritable_export_path_is_one_line_not_a_traceback(runner, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = runner.invoke(args=["export-ledger", str(blocker / "out.xlsx")])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2
    assert result.output.startswith(f"无法写入 {blocker / 'out.xlsx'}：") and len(result.output.splitlines()) == 1


def test_a_database_error_during_export_is_one_line(runner, tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from portal.registry import ledger_export

    def broken_query(*args, **kwargs):
        raise OperationalError("SELECT …", {}, Exception("no such table: outfall"))

    monkeypatch.setattr(ledger_export, "build_workbook", broken_query)
    result = runner.invoke(args=["export-ledger", str(tmp_path / "out.xlsx")])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2
    assert len(result.output.splitlines()) == 1 and "OperationalError" in result.output
    assert "no such table: outfall" in result.output and not (tmp_path / "out.xlsx").exists()
