"""The `portal backup` and `portal restore` commands: thin calls into portal.backup."""
from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--include-keys", is_flag=True,
              help="把 SECRET_KEY 和 REPORTER_KEY 也写入备份（默认不写入：密钥应与备份分开保存）。")
def backup_command(path: Path, include_keys: bool):
    """备份运行中的平台到新目录 PATH：数据库（SQLite 在线备份或 pg_dump）、照片与文件、清单（校验值）和密钥说明。"""
    from flask import current_app

    from portal import backup

    try:
        summary = backup.make_backup(current_app, path, include_keys=include_keys)
    except backup.BackupRefused as refused:
        click.echo(f"未备份（backup refused）：{refused}", err=True)
        sys.exit(1)
    except Exception as error:  # the database or the disk: one line, not a traceback
        _fail(f"未备份，{path} 未写入（backup failed, nothing written）", error)
    click.echo(summary.report())


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--ignore-reporter-key", is_flag=True,
              help="本实例的 REPORTER_KEY 与备份时的不同也恢复（备份中举报人的联系方式将无法读取）。")
def restore_command(path: Path, ignore_reporter_key: bool):
    """把备份 PATH 恢复到空实例：先核对每个文件的校验值，再恢复数据库和照片，并升级数据库结构。"""
    from flask import current_app

    from portal import backup

    try:
        summary = backup.restore_backup(current_app, path, ignore_reporter_key=ignore_reporter_key)
    except backup.BackupRefused as refused:
        click.echo(f"未恢复（restore refused）：{refused}", err=True)
        sys.exit(1)
    except Exception as error:  # the database, a tool or the disk: one line, not a traceback
        _fail("恢复未完成（restore failed）", error)
    click.echo(summary.report())


def _fail(what: str, error: Exception) -> None:
    from portal.cli import _fail as fail

    fail(what, error)


def init_app(app) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
