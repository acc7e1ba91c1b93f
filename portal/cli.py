"""The `portal` command: Flask's CLI for this app plus the registry's commands, each a thin call."""
from __future__ import annotations

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
    """生成 instance/config.py（含随机 SECRET_KEY）；已存在则不改动。"""
    from portal import PROJECT_ROOT, instance_path

    instance_dir = instance_dir or Path(instance_path())
    instance_dir.mkdir(parents=True, exist_ok=True)
    target = instance_dir / "config.py"
    if target.exists():
        click.echo(f"{target} 已存在，未改动。")
        return
    example = PROJECT_ROOT / "instance" / "config.example.py"
    body = example.read_text(encoding="utf-8") if example.exists() else ""
    body += f"\nSECRET_KEY = {secrets.token_hex(32)!r}\n"
    tmp = target.with_suffix(".tmp")
    tmp.write_text(body, encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(target)
    click.echo(f"已生成 {target}（含随机 SECRET_KEY）。")


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
    from portal.registry import demo

    try:
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
def import_ledger_command(path: Path, dry_run: bool):
    """导入排污口台账（.xlsx 或 .csv）：按编码新增或更新，任何一行有误则整份拒收。"""
    from portal.registry import ledger_import

    try:
        result = ledger_import.import_ledger(path, dry_run=dry_run)
    except ledger_import.LedgerRejected as rejected:
        click.echo(rejected.report(), err=True)
        sys.exit(1)
    click.echo(result.report(dry_run=dry_run))


@click.command("export-ledger")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def export_ledger_command(path: Path):
    """把全部排污口导出为 .xlsx 台账（与导入格式相同）。"""
    from portal.registry import ledger_export

    if path.suffix.lower() != ".xlsx":
        raise click.BadParameter("导出文件须以 .xlsx 结尾。", param_hint="PATH")
    count = ledger_export.export_ledger(path)
    click.echo(f"已导出 {count} 个排污口到 {path}。")


@click.command("import-areas")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_areas_command(path: Path):
    """导入镇界（GeoJSON FeatureCollection，属性 name 与可选的 code）。"""
    from portal.registry import areas

    try:
        summary = areas.import_areas(path)
    except areas.AreasRejected as rejected:
        click.echo(str(rejected), err=True)
        sys.exit(1)
    click.echo(f"已导入镇界：新增 {summary.added} 个，更新 {summary.updated} 个。")


def init_app(app):
    """Attach the registry's commands to the app's CLI (and so to `portal` and `flask`)."""
    for command in (seed_demo_command, import_ledger_command, export_ledger_command, import_areas_command):
        app.cli.add_command(command)
