"""The `portal` command: Flask's CLI for this app plus the registry's commands, each a thin call."""
from __future__ import annotations

import re
import secrets
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup


def _create_app():
    from portal import create_app

    return create_app()


@click.command("init")
@click.option("--instance", "instance_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="实例目录（默认：项目下的 instance/）")
def init_command(instance_dir: Path | None):
    """生成 instance/config.py（含随机 SECRET_KEY 与 REPORTER_KEY）；已有的设置不改动，只补写缺少的密钥。"""
    from portal import PROJECT_ROOT, instance_path
    from portal.reports.privacy import new_key

    instance_dir = instance_dir or Path(instance_path())
    instance_dir.mkdir(parents=True, exist_ok=True)
    target = instance_dir / "config.py"
    if target.exists():
        body = target.read_text(encoding="utf-8")
    else:
        example = PROJECT_ROOT / "instance" / "config.example.py"
        body = example.read_text(encoding="utf-8") if example.exists() else ""
    generated = {"SECRET_KEY": secrets.token_hex(32), "REPORTER_KEY": new_key()}
    missing = [name for name in generated if not re.search(rf"^{name}\s*=", body, re.MULTILINE)]
    if not missing:
        click.echo(f"{target} 已存在且已有所需密钥，未改动。")
        return
    body = body.rstrip("\n") + "\n" + "".join(f"{name} = {generated[name]!r}\n" for name in missing)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(target)  # atomic: a crash never leaves half a configuration
    click.echo(f"已写入 {target}：{'、'.join(missing)}（随机生成）。")


cli = FlaskGroup(create_app=_create_app, help="呼中区入河排污口平台 (river outfall portal)")
cli.add_command(init_command)


def main():
    """The `portal` console script: a wrong setting ends with its message, not a traceback."""
    from portal.config import ConfigError

    try:
        cli.main()
    except ConfigError as error:
        click.echo(str(error), err=True)
        sys.exit(2)


@click.command("seed-demo")
def seed_demo_command():
    """向空数据库填入演示数据（虚构，均标注为演示）；重复运行不作更改。"""
    from portal.db import transaction
    from portal import demo

    try:
        with transaction():
            summary = demo.seed()
    except demo.DemoRefused as refused:
        click.echo(str(refused), err=True)
        sys.exit(1)
    if summary is None:
        click.echo("演示数据已存在，未作更改。")
    else:
        click.echo("已填入演示数据：" + "，".join(f"{k} {v}" for k, v in summary.items()))


@click.command("import-ledger")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只报告将新增和修改的内容，不写入数据库。")
@click.option("--create-towns", is_flag=True, help="确认新增台账中系统尚无的镇（否则这些行被拒收）。")
def import_ledger_command(path: Path, dry_run: bool, create_towns: bool):
    """导入排污口台账（.xlsx 或 .csv）：按编码新增或更新，任何一行有误则整份拒收。"""
    from portal.registry import ledger_import

    result = _import_file(
        lambda dry: ledger_import.import_ledger(path, dry_run=dry, create_towns=create_towns), dry_run,
        failed=f"台账“{ledger_import.display_name(path)}”未导入，数据库未作任何更改")
    click.echo(result.report(dry_run=dry_run))


@click.command("export-ledger")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def export_ledger_command(path: Path):
    """把全部排污口导出为 .xlsx 台账（与导入格式相同）。"""
    from portal.registry import ledger_export

    if path.suffix.lower() != ".xlsx":
        raise click.BadParameter("导出文件须以 .xlsx 结尾。", param_hint="PATH")
    try:
        count = ledger_export.export_ledger(path)
    except OSError as error:
        _fail(f"无法写入 {path}", error, detail=error.strerror or str(error))
    except Exception as error:  # the database, most likely: one line, not a traceback
        _fail(f"台账未导出到 {path}", error)
    click.echo(f"已导出 {count} 个排污口到 {path}。")


def _import_file(run, dry_run: bool, *, failed: str, refused=None):
    """Run an importer, ``run(dry_run)``, as one transaction (a dry run ends its reads without writing).

    A refused file prints its refusal, every bad row named, and exits 1; any other fault (database,
    disk) one line through ``_fail`` and exits 2. ``refused`` is the refusal's type when it is not one
    of ``portal.importing.FileRejected``.
    """
    from portal.db import transaction
    from portal.extensions import db
    from portal.importing import FileRejected

    try:
        if dry_run:
            result = run(True)
            db.session.rollback()  # a dry run only read: end its transaction without writing anything
        else:
            with transaction():
                result = run(False)
    except (refused or FileRejected) as refusal:
        click.echo(refusal.report() if isinstance(refusal, FileRejected) else str(refusal), err=True)
        sys.exit(1)
    except Exception as error:  # a fault outside the file: one line, not a traceback
        _fail(failed, error)
    return result


def _fail(what: str, error: Exception, detail: str | None = None) -> None:
    """End a command on an unexpected error with one precise line on stderr and exit code 2.

    The session is rolled back first, so nothing half-done is left; the first line of the error
    (SQLAlchemy's messages go on with the statement) and its type say what went wrong.
    """
    from portal.extensions import db

    db.session.rollback()
    text = detail or next((line for line in str(error).splitlines() if line.strip()), "")
    click.echo(f"{what}：{type(error).__name__}：{text}".rstrip("：") + "。", err=True)
    sys.exit(2)


@click.command("import-areas")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_areas_command(path: Path):
    """导入镇界（GeoJSON FeatureCollection，属性 name 与可选的 code）。"""
    from portal.db import transaction
    from portal.registry import areas

    try:
        with transaction():
            summary = areas.import_areas(path)
    except areas.AreasRejected as rejected:
        click.echo(str(rejected), err=True)
        sys.exit(1)
    click.echo(f"已导入镇界：新增 {summary.added} 个，更新 {summary.updated} 个。")


@click.command("import-waters")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只报告将新增和修改的水体，不写入数据库。")
def import_waters_command(path: Path, dry_run: bool):
    """导入河流、湖泊、水库（GeoJSON：线为河流，面为湖库；属性 名称、编码、类型、目标水质、监督电话、治理目标）。"""
    from portal.registry import waters

    summary = _import_file(lambda dry: waters.import_waters(path, dry_run=dry), dry_run,
                           failed=f"水体文件“{path.name}”未导入，数据库未作任何更改", refused=waters.WatersRejected)
    click.echo(summary.report(dry_run=dry_run))


@click.command("import-chiefs")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只报告将新增、修改和移出公示牌的河长，不写入数据库。")
def import_chiefs_command(path: Path, dry_run: bool):
    """导入河长名录（.xlsx 或 .csv）：文件所列河湖、镇的公示牌以文件为准，任何一行有误则整份拒收。"""
    from portal.registry import chiefs

    summary = _import_file(lambda dry: chiefs.import_chiefs(path, dry_run=dry), dry_run,
                           failed=f"河长名录“{chiefs.display_name(path)}”未导入，数据库未作任何更改")
    click.echo(summary.report(dry_run=dry_run))


@click.command("send-notifications")
@click.option("--loop", is_flag=True, help="持续运行（worker 模式）；收到 SIGTERM 或 Ctrl-C 时发完当前一条再退出。")
@click.option("--interval", type=click.FloatRange(min=0, min_open=True), default=None,
              help="--loop 时两轮之间的秒数（默认 30）。")
def send_notifications_command(loop: bool, interval: float | None):
    """发送待发的通知（邮件、webhook），失败的按退避时间重试；--loop 则持续运行。"""
    from portal import notify

    if interval is not None and not loop:
        raise click.UsageError("--interval 只能与 --loop 一起使用。")
    if not loop:
        click.echo(notify.deliver_due().summary() + "。")
        return
    click.echo(f"通知发送进程已启动，每 {interval or 30:g} 秒检查一次；按 Ctrl-C 停止。")
    total = notify.run_forever(interval or 30, on_round=lambda report: click.echo(report.summary() + "。"))
    click.echo(f"已停止。合计：{total.summary()}。")


@click.command("import-roster")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_roster_command(path: Path):
    """导入河长值班表（CSV：河长姓名或编号、河流或镇、开始时间、结束时间、备注），任何一行有误则整份拒收。"""
    from portal.db import transaction
    from portal.registry import roster

    try:
        with transaction():
            summary = roster.import_roster(path)
    except roster.RosterRejected as rejected:
        click.echo(rejected.report(), err=True)
        sys.exit(1)
    click.echo(summary.report())


@click.command("import-samples")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只报告将新增和替换的结果，不写入数据库。")
def import_samples_command(path: Path, dry_run: bool):
    """导入化验结果（.xlsx 或 .csv，长表或宽表）：按点位、采样时间和项目新增或替换，任何一行有误则整份拒收。"""
    from zoneinfo import ZoneInfo

    from flask import current_app

    from portal.monitoring import lab_files

    summary = _import_file(lambda dry: lab_files.import_samples(path, dry_run=dry), dry_run,
                           failed=f"化验结果“{lab_files.display_name(path)}”未导入，数据库未作任何更改")
    click.echo(summary.report(dry_run=dry_run, zone=ZoneInfo(current_app.config["TIMEZONE"])))


@click.command("sweep-photos")
@click.option("--older-than-hours", type=click.IntRange(min=1), default=24, show_default=True,
              help="只处理早于这个时间的暂存文件")
def sweep_photos_command(older_than_hours: int):
    """清理照片暂存区：数据库已登记的照片移到正式位置，其余（提交失败留下的）删除。"""
    from datetime import timedelta

    from flask import current_app
    from sqlalchemy import or_, select

    from portal.extensions import db
    from portal.models import OutfallDocument, OutfallPhoto, ReportPhoto
    from portal.photos import storage_for

    def referenced(key: str) -> bool:
        return bool(
            db.session.scalar(select(ReportPhoto.id).where(
                or_(ReportPhoto.storage_key == key, ReportPhoto.thumbnail_key == key)))
            or db.session.scalar(select(OutfallPhoto.id).where(OutfallPhoto.storage_key == key))
            or db.session.scalar(select(OutfallDocument.id).where(OutfallDocument.storage_key == key))
        )

    sweep = storage_for(current_app).sweep_staging(timedelta(hours=older_than_hours), referenced=referenced)
    click.echo(f"已归位 {len(sweep.recovered)} 个，已删除 {len(sweep.deleted)} 个暂存文件。")


@click.command("import-holidays")
@click.argument("path", required=False, type=click.Path(path_type=Path))  # read_notice says what is wrong
@click.option("--dry-run", is_flag=True, help="只检查文件并报告各年的天数，不写入数据库。")
def import_holidays_command(path: Path | None, dry_run: bool):
    """导入国务院节假日安排（CSV：date,kind,name；默认 instance/holidays.csv），文件中的每一年整年替换。"""
    from flask import current_app

    from portal import audit, holiday_notice
    from portal.db import transaction
    from portal.extensions import db

    path = path or Path(current_app.instance_path) / "holidays.csv"
    try:
        notice = holiday_notice.read_notice(path)
    except holiday_notice.NoticeRejected as rejected:
        click.echo(rejected.report(), err=True)
        sys.exit(1)
    try:
        if dry_run:
            summaries = holiday_notice.summarise(notice)
            db.session.rollback()  # a dry run only read: end its transaction without writing anything
        else:
            with transaction():
                summaries = holiday_notice.store(notice)
                holidays, workdays = notice.count()
                audit.record(audit.CLI_ACTOR, "calendar_imported", label=notice.source[:64] or None,
                             detail={"years": notice.years, "holidays": holidays, "workdays": workdays})
    except Exception as error:  # the database, most likely: one line, not a traceback
        _fail(f"节假日文件 {path} 未导入，数据库未作任何更改", error)
    for summary in summaries:
        click.echo(summary.line())
    if dry_run:
        click.echo("试运行（dry run）：以上为将导入的内容，数据库未作任何更改。")
    else:
        click.echo(f"已导入节假日安排：{'、'.join(map(str, notice.years))} 年（imported）。")


@click.command("create-user")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "town", "chief", "department", "auditor"]),
              help="角色：admin 区级管理员、town 镇级、chief 河长、department 部门、auditor 审计（只读）")
@click.option("--town", "town_name", default=None, help="镇名（town 必填；chief 可选）")
@click.option("--river", "river_name", default=None, help="河流名称（chief 可选，与 --town 至少一项）")
@click.option("--department", "department_code", default=None, help="部门编码，如 eeb、housing（department 必填）")
@click.option("--name", "display_name", default="", help="姓名")
@click.option("--email", default=None, help="工作邮箱（接收待办通知）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（一行），而不是交互输入")
def create_user_command(username, role, town_name, river_name, department_code, display_name, email,
                        password_stdin):
    """创建后台账户；出错时给出一行说明并以代码 1 退出，数据库不作更改。"""
    from portal.accounts import AccountError
    from portal.accounts.cli import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")
    try:
        account = create_user(username=username, role=role, town_name=town_name, river_name=river_name,
                              department_code=department_code, display_name=display_name, email=email,
                              password=password)
    except AccountError as refused:
        click.echo(f"账户未创建：{refused}", err=True)
        sys.exit(1)
    except Exception as error:  # the database, most likely: one line, not a traceback
        _fail("账户未创建，数据库未作任何更改", error)
    click.echo(f"已创建账户 {account.username}（角色 {account.role}）。")
    if account.role == "admin":
        click.echo("管理员首次登录时须设置两步验证（手机验证器应用）。")


@click.command("escalate")
def escalate_command():
    """超期督办：把超过受理或答复期限、尚未督办的举报提请区级河长和区生态环境局督办（可反复运行，每份只督办一次）。"""
    from portal.db import transaction
    from portal.reports import operations

    try:
        with transaction():
            escalated = operations.escalate_overdue()
            codes = [report.tracking_code for report in escalated]
    except Exception as error:  # the database, most likely: one line, not a traceback
        _fail("超期督办未完成，数据库未作任何更改", error)
    if codes:
        click.echo(f"已督办 {len(codes)} 份超期举报（escalated）：{'、'.join(codes)}")
    else:
        click.echo("没有需要督办的超期举报（nothing overdue to escalate）。")


@click.command("import-sections")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只报告将新增和修改的断面，不写入数据库。")
def import_sections_command(path: Path, dry_run: bool):
    """导入监测断面（.xlsx 或 .csv）：按断面编码新增或更新，任何一行有误则整份拒收。"""
    from portal.monitoring import sections

    result = _import_file(lambda dry: sections.import_sections(path, dry_run=dry), dry_run,
                          failed=f"断面文件“{path.name}”未导入，数据库未作任何更改")
    click.echo(result.report())


@click.command("import-photos")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查清单和文件并报告将新增的照片和文件，不写入数据库。")
def import_photos_command(path: Path, dry_run: bool):
    """导入排污口照片和 PDF 文件：PATH 为含 manifest.csv（或 .xlsx）的文件夹，任何一行有误则整批拒收。"""
    from portal.registry import archive_files

    result = _import_file(lambda dry: archive_files.import_manifest(path, dry_run=dry), dry_run,
                          failed=f"照片与文件“{path.name}”未导入，数据库未作任何更改")
    click.echo(result.report(dry_run=dry_run))


@click.command("snapshot-progress")
def snapshot_progress_command():
    """记录今天的整治进展统计（/progress 的历史数据）；同一天重复运行则替换当天的记录。"""
    from portal import calendar
    from portal.db import transaction
    from portal.registry import snapshots

    day = calendar.today()
    try:
        with transaction():
            snapshots.take_snapshot(day)
    except Exception as error:  # the database, most likely: one line, not a traceback
        _fail(f"{day.isoformat()} 的进展统计未记录", error)
    click.echo(f"已记录 {day.isoformat()} 的进展统计。")


@click.command("rejudge-samples")
def rejudge_samples_command():
    """按现行规则重新评价所有排污口和断面的监测结果（标准、许可证或迁移之后），并说明多少结论改变。"""
    from zoneinfo import ZoneInfo

    from flask import current_app

    from portal.db import transaction
    from portal.monitoring import operations

    try:
        with transaction():
            outfalls, sections = operations.rejudge_everything(ZoneInfo(current_app.config["TIMEZONE"]))
    except Exception as error:  # the database, most likely: one line, not a traceback
        _fail("重新评价未完成，数据库未作任何更改", error)
    click.echo(f"已重新评价排污口监测结果 {outfalls.judged} 个，其中 {outfalls.changed} 个评价结论改变；"
               f"断面监测结果 {sections.judged} 个，其中 {sections.changed} 个评价结论改变。")


def init_app(app):
    """Attach the registry's commands to the app's CLI (and so to `portal` and `flask`)."""
    from portal.scale import seed_scale_command

    for command in (seed_demo_command, seed_scale_command, import_ledger_command, export_ledger_command, import_areas_command,
                    import_waters_command, import_chiefs_command, send_notifications_command, import_roster_command, sweep_photos_command, import_samples_command,
                    import_holidays_command, create_user_command, escalate_command,
                    import_sections_command, import_photos_command, snapshot_progress_command,
                    rejudge_samples_command):
        app.cli.add_command(command)
    from portal import backup_cli

    backup_cli.init_app(app)  # `portal backup` and `portal restore`
    from portal.serving import serve_command

    app.cli.add_command(serve_command)
