"""Backing up a running portal and restoring it into an empty instance.

A backup is a directory (not a tar file): the restore reads and checks it in place without unpacking
gigabytes of photos first, nightly copies of it deduplicate well under rsync/restic/borg (a photo never
changes once stored), and an operator who wants one file can still ``tar`` it. It holds::

    manifest.json              what, when, versions, alembic revision, counts, sha256 of every file
    README.txt                 the note (中文 / English): the keys are kept apart from the backup
    database/portal.sqlite3    SQLite: a copy made by the online backup API   (or)
    database/portal.pgdump     PostgreSQL: pg_dump's custom format
    files/…                    the photo storage (PHOTO_ROOT or <instance>/photos), same paths
    keys.py                    only with --include-keys: SECRET_KEY and REPORTER_KEY (mode 0600)

Consistency: the database is copied first, as one snapshot (SQLite's backup API reads in one read
transaction while others write in WAL mode; pg_dump reads an exported REPEATABLE READ snapshot, and the
same snapshot lists the files the dump refers to). The files are copied afterwards. A photo's file is
written before its row commits and moved into place right after, so every file the snapshot refers to
exists by then — in place or still in the staging folder, where it is looked for too. Files added after
the snapshot may or may not be in the backup; the restored database does not refer to them.

The backup is written to a hidden sibling of PATH and renamed to PATH at the end, so PATH is either a
whole backup or absent.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

FORMAT = "outfall-portal-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
NOTE = "README.txt"
KEYS_FILE = "keys.py"
FILES_DIR = "files"
SQLITE_COPY = "database/portal.sqlite3"
PG_DUMP_FILE = "database/portal.pgdump"
# A restore copies files here first (inside the photo root, so moving them into place is a rename on
# one disk); a leftover of an interrupted restore is not counted as data and is replaced.
RESTORING_DIR = ".restoring"
# Tables the migrations fill by themselves: an instance holding only these rows is empty.
SHIPPED_TABLES = {"alembic_version", "data_version", "department", "discharge_standard", "standard_limit"}
CHUNK = 1 << 20


class BackupRefused(Exception):
    """A backup or restore that cannot go ahead; the message says why and what to do (exit code 1).

    Nothing has been changed when it is raised.
    """


@dataclass
class BackupSummary:
    path: Path
    engine: str
    revision: str | None
    counts: dict
    files: int
    bytes: int
    missing: list[str]
    keys_included: bool

    def report(self) -> str:
        lines = [
            f"已写入备份 {self.path}（backup written）：数据库 {self.engine}，迁移版本 {self.revision}；"
            f"举报 {self.counts['reports']} 份，举报照片 {self.counts['report_photos']} 张，"
            f"排污口照片 {self.counts['outfall_photos']} 张，文件 {self.counts['outfall_documents']} 份；"
            f"共复制 {self.files} 个照片与文件（{_size(self.bytes)}）。",
        ]
        if self.keys_included:
            lines.append("注意：备份内含密钥（keys.py）。请加密保存备份，只让管理员读取（the keys are INSIDE this backup: "
                         "encrypt it and restrict who can read it）。")
        else:
            lines.append("备份不含 REPORTER_KEY 和 SECRET_KEY：请把 instance/config.py 中的两个密钥另行妥善保存，"
                         "没有 REPORTER_KEY 就无法读取举报人的联系方式（the keys are NOT in the backup: keep them "
                         "separately; without REPORTER_KEY reporters' contacts cannot be read）。")
        if self.missing:
            lines.append(f"警告：数据库引用的 {len(self.missing)} 个文件在运行中的实例里已不存在，备份中也没有"
                         f"（files the database refers to are missing from the live instance）：{'、'.join(self.missing[:10])}")
        return "\n".join(lines)


@dataclass
class RestoreSummary:
    engine: str
    revision: str | None
    migrated_to: str | None
    counts: dict
    files: int
    key_matches: bool | None
    notes: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [
            f"已恢复备份（restored）：数据库 {self.engine}，举报 {self.counts['reports']} 份，"
            f"举报照片 {self.counts['report_photos']} 张，排污口照片 {self.counts['outfall_photos']} 张，"
            f"文件 {self.counts['outfall_documents']} 份，排污口 {self.counts['outfalls']} 个；"
            f"照片与文件 {self.files} 个。",
        ]
        if self.migrated_to and self.migrated_to != self.revision:
            lines.append(f"数据库已从迁移版本 {self.revision} 升级到 {self.migrated_to}（migrated up）。")
        else:
            lines.append(f"迁移版本 {self.revision}，已是最新（schema up to date）。")
        lines.extend(self.notes)
        return "\n".join(lines)


# Backup -------------------------------------------------------------------------------------------

def make_backup(app, target: Path, *, include_keys: bool = False) -> BackupSummary:
    """Write a consistent backup of the app's database and photo storage to ``target`` (a new directory)."""
    from portal.photos import storage_for

    target = Path(target).absolute()
    root = storage_for(app).root
    if target.exists() or target.is_symlink():
        raise BackupRefused(f"{target} 已存在：备份只写入新的路径，不覆盖已有内容（PATH already exists; "
                            "give a new path, nothing is overwritten）。")
    if not target.parent.is_dir():
        raise BackupRefused(f"目录 {target.parent} 不存在（the folder for the backup does not exist）。")
    if target.resolve().is_relative_to(root):
        raise BackupRefused(f"备份不能写在照片目录 {root} 之内（the backup cannot be inside the photo storage）。")
    engine = _engine_name(app)
    tool = _pg_tool("pg_dump") if engine == "postgresql" else None  # refuse before writing anything

    work = target.parent / f".{target.name}.partial-{secrets.token_hex(4)}"
    work.mkdir(mode=0o700)
    try:
        (work / "database").mkdir()
        if engine == "sqlite":
            snapshot = _snapshot_sqlite(app, work / SQLITE_COPY)
        else:
            snapshot = _snapshot_postgresql(app, tool, work / PG_DUMP_FILE)
        checksums = {snapshot.file: _checksum(work / snapshot.file)}
        copied, missing = _copy_storage(root, snapshot.keys, work / FILES_DIR)
        checksums.update({f"{FILES_DIR}/{rel}": value for rel, value in copied.items()})
        fingerprint = key_fingerprint(app.config["REPORTER_KEY"])
        if include_keys:
            _write_private(work / KEYS_FILE, _keys_text(app))
            checksums[KEYS_FILE] = _checksum(work / KEYS_FILE)
        created = datetime.now(timezone.utc).replace(microsecond=0)
        (work / NOTE).write_text(_note_text(created, engine, include_keys, fingerprint), encoding="utf-8")
        checksums[NOTE] = _checksum(work / NOTE)
        manifest = {
            "format": FORMAT, "format_version": FORMAT_VERSION,
            "created_at": created.isoformat().replace("+00:00", "Z"),
            "portal_version": _portal_version(),
            "engine": engine, "database_file": snapshot.file, "database_version": snapshot.server_version,
            "dump_tool": snapshot.tool_version,
            "alembic_revision": snapshot.revision,
            "counts": {**snapshot.counts, "files": len(copied)},
            "keys_included": include_keys,
            "reporter_key_fingerprint": fingerprint,
            "files_missing": missing,
            "checksums": checksums,
        }
        _write_private(work / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        _fsync_tree(work)
        os.rename(work, target)  # the backup appears whole or not at all
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupSummary(path=target, engine=engine, revision=snapshot.revision, counts=snapshot.counts,
                         files=len(copied), bytes=sum(item["bytes"] for item in copied.values()),
                         missing=missing, keys_included=include_keys)


@dataclass
class _Snapshot:
    file: str
    revision: str | None
    counts: dict
    keys: set[str]
    server_version: str
    tool_version: str | None = None


def _snapshot_sqlite(app, copy: Path) -> _Snapshot:
    """Copy the live SQLite database with the online backup API: one read transaction (``pages=-1``)
    while other processes go on writing, so the copy is the database as of one moment."""
    live = _sqlite_file(app)
    if not live.is_file():
        raise BackupRefused(f"数据库文件 {live} 不存在（the SQLite database file does not exist）。")
    source = sqlite3.connect(live, timeout=app.config.get("SQLITE_BUSY_TIMEOUT") or 30)
    destination = sqlite3.connect(copy)
    try:
        source.backup(destination)
        # The copy is one self-contained file, not a WAL database with side files.
        destination.execute("PRAGMA journal_mode=DELETE")
    finally:
        destination.close()
        source.close()
    engine = sa.create_engine(f"sqlite:///{copy}", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            revision, counts, keys = _read_facts(conn)
    finally:
        engine.dispose()
    return _Snapshot(file=SQLITE_COPY, revision=revision, counts=counts, keys=keys,
                     server_version=sqlite3.sqlite_version)


def _snapshot_postgresql(app, pg_dump: str, dump: Path) -> _Snapshot:
    """pg_dump (custom format) of an exported snapshot, read in the same snapshot for the files it names."""
    from portal.extensions import db

    tool_version = _tool_version(pg_dump)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            server_num = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one())
            server_version = conn.execute(sa.text("SHOW server_version")).scalar_one().split()[0]
            if tool_version[0] < server_num // 10000:
                raise BackupRefused(
                    f"pg_dump 版本 {tool_version[1]} 低于数据库服务器版本 {server_version}，无法备份；请安装与服务器同版本"
                    f"或更新的 PostgreSQL 客户端（pg_dump is older than the server: install the client of version "
                    f"{server_num // 10000} or newer, e.g. apt-get install postgresql-client-{server_num // 10000}）。")
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            _run_pg_tool([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={dump}"], app,
                         failed="pg_dump 未能导出数据库（pg_dump failed）")
            revision, counts, keys = _read_facts(conn)
    return _Snapshot(file=PG_DUMP_FILE, revision=revision, counts=counts, keys=keys,
                     server_version=server_version, tool_version=tool_version[1])


def _read_facts(conn) -> tuple[str | None, dict, set[str]]:
    """The snapshot's alembic revision, its counts, and every storage key its rows refer to."""
    from portal.models import Outfall, OutfallDocument, OutfallPhoto, Report, ReportPhoto

    def count(model) -> int:
        return conn.execute(sa.select(sa.func.count()).select_from(model.__table__)).scalar_one()

    revision = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    counts = {"reports": count(Report), "report_photos": count(ReportPhoto), "outfall_photos": count(OutfallPhoto),
              "outfall_documents": count(OutfallDocument), "outfalls": count(Outfall)}
    photo = ReportPhoto.__table__.c
    keys: set[str] = set()
    for row in conn.execute(sa.select(photo.storage_key, photo.thumbnail_key, photo.public_key,
                                      photo.public_thumbnail_key)):
        keys.update(key for key in row if key)
    for table in (OutfallPhoto.__table__, OutfallDocument.__table__):
        keys.update(conn.execute(sa.select(table.c.storage_key)).scalars())
    return revision, counts, keys


def _copy_storage(root: Path, keys: set[str], destination: Path) -> tuple[dict, list[str]]:
    """Copy the photo storage (not its staging folder) to ``destination``, then make sure every key the
    snapshot refers to is there, fetching any the walk missed (still staged then, or moved into place
    behind the walk). Gives the copied files' checksums by relative path, and the keys found nowhere."""
    from portal.photos import KEY_PATTERN, STAGING_DIR

    copied: dict[str, dict] = {}
    destination.mkdir()
    if root.is_dir():
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if rel.parts[0] in (STAGING_DIR, RESTORING_DIR) or path.is_symlink() or not path.is_file():
                continue
            try:
                copied[rel.as_posix()] = _copy_file(path, destination / rel)
            except FileNotFoundError:
                continue  # deleted while we walked: a file of a row removed after the snapshot
    missing = []
    for key in sorted(keys):
        # Random keys live under <2 chars>/<key>; a ledger's registered photo under the path it names.
        candidates = [f"{key[:2]}/{key}", key] if KEY_PATTERN.fullmatch(key) else [key]
        if any(candidate in copied for candidate in candidates):
            continue
        # In place, or still staged: the rename from staging is atomic, so looking in place, in
        # staging, then in place again cannot miss a file that exists throughout.
        places = [(c, root / c) for c in candidates]
        if KEY_PATTERN.fullmatch(key):
            places += [(candidates[0], root / STAGING_DIR / key), (candidates[0], root / candidates[0])]
        for rel, path in places:
            if not path.resolve().is_relative_to(root) or path.is_symlink():
                continue
            try:
                copied[rel] = _copy_file(path, destination / rel)
                break
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
        else:
            missing.append(key)
    return copied, missing


# Restore ------------------------------------------------------------------------------------------

def restore_backup(app, source: Path, *, ignore_reporter_key: bool = False) -> RestoreSummary:
    """Bring the backup at ``source`` into the app's instance, which must be empty.

    Everything is checked first — the manifest, the note, every checksum, the engine, the revision,
    the REPORTER_KEY, that the database holds no data and the photo storage no file — and only then
    is anything written. Migrations then bring an older backup up to this code's schema.
    """
    from flask_migrate import upgrade

    from portal.photos import storage_for

    source = Path(source).absolute()
    manifest = read_manifest(source)
    verify_backup(source, manifest)
    engine = _engine_name(app)
    if manifest["engine"] != engine:
        raise BackupRefused(
            f"这是 {manifest['engine']} 数据库的备份，本实例使用 {engine}：不支持跨数据库恢复；请恢复到使用 "
            f"{manifest['engine']} 的实例（restoring across engines, {manifest['engine']} → {engine}, is not "
            f"supported: restore into an instance on {manifest['engine']}）。")
    revision = manifest.get("alembic_revision")
    head = _check_revision(revision)
    fingerprint = key_fingerprint(app.config["REPORTER_KEY"])
    key_matches = manifest.get("reporter_key_fingerprint") == fingerprint
    if not key_matches and not ignore_reporter_key:
        raise BackupRefused(
            "本实例的 REPORTER_KEY 与备份时的不同：恢复后举报人的联系方式将无法读取，新旧举报也会用不同密钥加密。"
            "请先把备份时保存的 REPORTER_KEY 写入 instance/config.py（或 PORTAL_REPORTER_KEY），再恢复；"
            "确实已丢失该密钥时可加 --ignore-reporter-key（this instance's REPORTER_KEY is not the one the "
            "backup was made with: set the kept key first, or pass --ignore-reporter-key if it is lost）。")
    root = storage_for(app).root
    versions_before = _check_empty_database(app)
    _check_empty_storage(root)
    tool = _pg_tool("pg_restore") if engine == "postgresql" else None

    staging = root / RESTORING_DIR
    shutil.rmtree(staging, ignore_errors=True)
    files = _restorable_files(manifest)
    try:
        for rel in files:
            _copy_file(source / FILES_DIR / rel, staging / rel)
        if engine == "sqlite":
            _restore_sqlite(app, source / manifest["database_file"])
        else:
            _restore_postgresql(app, tool, source / manifest["database_file"])
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if staging.is_dir():
        for entry in staging.iterdir():
            _merge_into(entry, root / entry.name)
        shutil.rmtree(staging, ignore_errors=True)

    from portal.extensions import db

    db.engine.dispose()  # the database under the pool was replaced
    upgrade()
    migrated_to = _current_revision()
    _advance_data_versions(versions_before)
    with db.engine.connect() as conn:
        _, counts, _ = _read_facts(conn)
    notes = []
    if not key_matches:
        notes.append("注意：本实例的 REPORTER_KEY 与备份时的不同，备份中举报人的联系方式无法读取"
                     "（REPORTER_KEY differs: reporters' contacts from the backup cannot be read）。")
    if manifest.get("keys_included"):
        notes.append(f"备份内含密钥文件 {KEYS_FILE}；本实例的密钥以 instance/config.py 为准（the backup holds its "
                     "keys; this instance uses the keys of its own configuration）。")
    if manifest.get("files_missing"):
        notes.append(f"备份时已缺失的文件 {len(manifest['files_missing'])} 个，恢复后仍缺失（files already missing "
                     "when the backup was made）。")
    return RestoreSummary(engine=engine, revision=revision, migrated_to=migrated_to or head, counts=counts,
                          files=len(files), key_matches=key_matches, notes=notes)


def read_manifest(source: Path) -> dict:
    """The backup's manifest; BackupRefused when PATH is no backup of this portal or of a newer format."""
    if not source.is_dir():
        raise BackupRefused(f"{source} 不是备份目录（not a backup directory）。")
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupRefused(f"{source} 中没有 {MANIFEST}，不是完整的备份（no manifest: not a complete backup）。") from None
    except (ValueError, UnicodeError) as error:
        raise BackupRefused(f"{MANIFEST} 无法读取（the manifest is not valid JSON）：{error}。") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupRefused(f"{source} 不是本平台的备份（not a backup of this portal）。")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupRefused(f"备份格式版本 {manifest.get('format_version')!r} 不受本版本支持，请用更新的平台恢复"
                            "（made by a newer portal: restore with that version）。")
    checksums = manifest.get("checksums")
    if (not isinstance(checksums, dict) or manifest.get("engine") not in ("sqlite", "postgresql")
            or manifest.get("database_file") not in checksums):
        raise BackupRefused(f"{MANIFEST} 缺少数据库、校验值等必需内容（the manifest is incomplete）。")
    return manifest


def verify_backup(source: Path, manifest: dict) -> None:
    """Every file the manifest lists is there, of its size and SHA-256; the note about the keys is there."""
    checksums = manifest["checksums"]
    if NOTE not in checksums or not (source / NOTE).is_file():
        raise BackupRefused(f"备份缺少说明文件 {NOTE}（关于 REPORTER_KEY 须另行保存的说明），不完整，未恢复"
                            f"（the note on the keys, {NOTE}, is missing: the backup is incomplete）。")
    bad = []
    for rel, expected in sorted(checksums.items()):
        path = source / rel
        if not _inside(path, source) or not path.is_file() or path.is_symlink():
            bad.append(f"{rel}（缺失 missing）")
        elif path.stat().st_size != expected.get("bytes") or _checksum(path)["sha256"] != expected.get("sha256"):
            bad.append(f"{rel}（校验值不符 checksum mismatch）")
    if bad:
        shown = "；".join(bad[:10]) + (f"；等共 {len(bad)} 个" if len(bad) > 10 else "")
        raise BackupRefused(f"备份已损坏或被改动，未作任何恢复（the backup is damaged or altered; nothing was "
                            f"restored）：{shown}。")


def _restorable_files(manifest: dict) -> list[str]:
    prefix = FILES_DIR + "/"
    return sorted(rel[len(prefix):] for rel in manifest["checksums"] if rel.startswith(prefix))


def _check_revision(revision: str | None) -> str:
    """This code's head revision; BackupRefused when the backup's revision is unknown to its migrations."""
    from alembic.script import ScriptDirectory

    from portal import MIGRATIONS_DIR

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    known = {item.revision for item in script.walk_revisions()}
    if revision is not None and revision not in known:
        raise BackupRefused(f"备份的数据库迁移版本 {revision} 不在本版本的迁移之中：备份来自更新的平台，请先升级代码再恢复"
                            "（the backup's schema revision is unknown here: it was made by a newer portal）。")
    return script.get_current_head()


def _current_revision() -> str | None:
    from portal.extensions import db

    with db.engine.connect() as conn:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _check_empty_storage(root: Path) -> None:
    if not root.is_dir():
        return
    for path in root.rglob("*"):
        if path.relative_to(root).parts[0] == RESTORING_DIR:
            continue
        if not path.is_dir():
            raise BackupRefused(f"照片目录 {root} 不是空的（例如 {path.relative_to(root)}）：只能恢复到空实例，未作任何更改"
                                "（the photo storage is not empty: restore only into an empty instance; nothing "
                                "was changed）。")


def _check_empty_database(app) -> dict:
    """Refuse a database holding any data beyond what migrations ship; give its data versions (to go past)."""
    from portal.extensions import db

    with db.engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        holding = []
        for name in sorted(tables - SHIPPED_TABLES):
            if conn.execute(sa.text(f'SELECT 1 FROM "{name}" LIMIT 1')).first():
                holding.append(name)
        if "discharge_standard" in tables and conn.execute(sa.text(
                "SELECT 1 FROM discharge_standard WHERE NOT is_builtin LIMIT 1")).first():
            holding.append("discharge_standard")
        versions = (dict(conn.execute(sa.text("SELECT scope, number FROM data_version")).all())
                    if "data_version" in tables else {})
    if holding:
        raise BackupRefused(f"数据库已有数据（表 {'、'.join(holding[:8])}）：只能恢复到空实例，未作任何更改"
                            "（the database already holds data: restore only into an empty instance; nothing was "
                            "changed）。")
    return versions


def _restore_sqlite(app, copy: Path) -> None:
    """Write the backup's pages over the (empty) target database with the backup API, in one step."""
    from portal.extensions import db

    target = _sqlite_file(app)
    target.parent.mkdir(parents=True, exist_ok=True)
    db.engine.dispose()
    source = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    destination = sqlite3.connect(target, timeout=app.config.get("SQLITE_BUSY_TIMEOUT") or 30)
    try:
        source.backup(destination)
    finally:
        destination.close()
        source.close()


def _restore_postgresql(app, pg_restore: str, dump: Path) -> None:
    """pg_restore into the target database, after dropping its empty tables (a schema migrated further
    than the backup's would otherwise clash with the migrations run afterwards)."""
    from portal.extensions import db

    with db.engine.begin() as conn:
        for name in sa.inspect(conn).get_table_names():
            conn.execute(sa.text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    db.engine.dispose()
    _run_pg_tool([pg_restore, "--no-owner", "--no-privileges", "--clean", "--if-exists", "--exit-on-error",
                  "--single-transaction", f"--dbname={_pg_url(app).database}", str(dump)], app,
                 failed="pg_restore 未能恢复数据库（pg_restore failed）；目标数据库的空表已删除，可重新运行 portal db "
                        "upgrade 或再次恢复")


def _advance_data_versions(before: dict) -> None:
    """Put every data version past both the backup's and the empty instance's numbers, so no page cached
    before the restore (Redis outlives it) can match the restored data's versions."""
    from portal.data_version import SCOPES
    from portal.extensions import db
    from portal.models import DataVersion
    from portal.models.types import utcnow

    with db.engine.begin() as conn:
        restored = dict(conn.execute(sa.select(DataVersion.scope, DataVersion.number)).all())
        for scope in SCOPES:
            number = max(restored.get(scope, 0), before.get(scope, 0)) + 1
            if scope in restored:
                conn.execute(sa.update(DataVersion).where(DataVersion.scope == scope)
                             .values(number=number, changed_at=utcnow()))
            else:
                conn.execute(sa.insert(DataVersion).values(scope=scope, number=number, changed_at=utcnow()))


def _merge_into(source: Path, target: Path) -> None:
    """Move a restored file or folder into place; a folder that exists (empty ones may) is merged into."""
    if source.is_dir() and target.is_dir():
        for entry in source.iterdir():
            _merge_into(entry, target / entry.name)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)


# Shared -------------------------------------------------------------------------------------------

def key_fingerprint(key: str) -> str:
    """A short one-way fingerprint of a key: says whether two keys are the same without revealing either."""
    return hashlib.sha256(b"outfall-portal key fingerprint\0" + str(key).encode()).hexdigest()[:16]


def _engine_name(app) -> str:
    return "sqlite" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite") else "postgresql"


def _sqlite_file(app) -> Path:
    database = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise BackupRefused("内存中的 SQLite 数据库无法备份或恢复（an in-memory SQLite database cannot be backed up）。")
    return Path(database).absolute()


def _pg_url(app) -> sa.URL:
    return sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])


def _pg_environment(app) -> dict:
    """pg_dump's and pg_restore's connection, from DATABASE_URL, through libpq's variables (a password
    in the environment is not shown to other users by ps, unlike one on the command line)."""
    url = _pg_url(app)
    env = dict(os.environ)
    for variable, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                            ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[variable] = str(value)
    for name, value in url.query.items():  # ?host=/run/postgresql, ?sslmode=require …
        if re.fullmatch(r"[a-z_]+", name) and isinstance(value, str):
            env["PG" + name.upper().replace("_", "")] = value
    return env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupRefused(
            f"找不到 {name}：PostgreSQL 的备份和恢复需要它；请安装与服务器同版本的 PostgreSQL 客户端（Debian："
            f"apt-get install postgresql-client），并确认它在 PATH 中（{name} was not found: install the "
            "PostgreSQL client of the server's version and put it on PATH）。")
    return found


def _tool_version(tool: str) -> tuple[int, str]:
    """(major, full text) of a PostgreSQL client, e.g. (15, '15.20') from 'pg_dump (PostgreSQL) 15.20 (Debian …)'."""
    try:
        output = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise BackupRefused(f"无法运行 {tool}（could not run it）：{error}。") from None
    match = re.search(r"\)\s*(\d+)(?:\.(\d+))?", output) or re.search(r"(\d+)(?:\.(\d+))?", output)
    if not match:
        raise BackupRefused(f"无法读出 {tool} 的版本（unreadable version）：{output.strip()!r}。")
    return int(match.group(1)), match.group(0).lstrip(") ").strip()


def _run_pg_tool(arguments: list[str], app, *, failed: str) -> None:
    result = subprocess.run(arguments, env=_pg_environment(app), capture_output=True, text=True)
    if result.returncode != 0:
        detail = " ".join(line.strip() for line in result.stderr.splitlines()[:3] if line.strip())
        raise RuntimeError(f"{failed}：{detail or 'exit ' + str(result.returncode)}")


def _copy_file(source: Path, target: Path) -> dict:
    """Copy one file, hashing it on the way; its sha256 and size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest, size = hashlib.sha256(), 0
    # 0640 as the photo storage writes its own files: photos of residents are not for every local user.
    with open(source, "rb") as reader, os.fdopen(
            os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640), "wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def _checksum(path: Path) -> dict:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"sha256": digest.hexdigest(), "bytes": size}


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _fsync_tree(folder: Path) -> None:
    """Flush the backup's files and folders to disk before it is renamed into place (POSIX)."""
    if os.name != "posix":
        return
    for path in sorted(folder.rglob("*"), reverse=True) + [folder]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _portal_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("outfall-portal")
    except PackageNotFoundError:
        return "unknown"


def _size(count: int) -> str:
    return f"{count / 1048576:.1f} MB" if count >= 1048576 else f"{count / 1024:.0f} KB"


def _keys_text(app) -> str:
    return ("# 呼中区入河排污口平台的密钥（随备份保存，因为备份时使用了 --include-keys）。\n"
            "# The portal's keys, inside this backup because it was made with --include-keys.\n"
            "# 恢复时把这两行写入新实例的 instance/config.py。Put these lines in the new instance's instance/config.py.\n"
            f"SECRET_KEY = {app.config['SECRET_KEY']!r}\n"
            f"REPORTER_KEY = {app.config['REPORTER_KEY']!r}\n")


def _note_text(created: datetime, engine: str, include_keys: bool, fingerprint: str) -> str:
    when = created.isoformat().replace("+00:00", "Z")
    if include_keys:
        zh_keys = (f"本备份内含密钥文件 {KEYS_FILE}（SECRET_KEY 与 REPORTER_KEY，备份时使用了 --include-keys）。\n"
                   "拿到本备份的人可以读取所有举报人的姓名、电话和邮箱。请加密保存（例如 gpg 或 age），\n"
                   "只让管理员读取，不要放在公开或共享的位置；不再需要时删除。\n")
        en_keys = (f"This backup CONTAINS the keys ({KEYS_FILE}: SECRET_KEY and REPORTER_KEY; made with\n"
                   "--include-keys). Whoever holds it can read every reporter's name, telephone and e-mail.\n"
                   "Encrypt it (gpg, age), let only administrators read it, never put it on a shared or public\n"
                   "place, and delete it when no longer needed.\n")
    else:
        zh_keys = ("本备份不含 REPORTER_KEY 和 SECRET_KEY。举报人的联系方式在数据库中以 REPORTER_KEY 加密：\n"
                   "没有备份时所用的 REPORTER_KEY，恢复后就无法读取举报人的联系方式。请把 instance/config.py\n"
                   "中的 REPORTER_KEY 和 SECRET_KEY 另行妥善保存（与备份分开存放，例如密码管理器或保险柜），\n"
                   "恢复前写入新实例的 instance/config.py。\n")
        en_keys = ("This backup does NOT contain REPORTER_KEY or SECRET_KEY. Reporters' contacts are encrypted\n"
                   "with REPORTER_KEY: without the key in use when this backup was made they cannot be read after\n"
                   "a restore. Keep REPORTER_KEY and SECRET_KEY from instance/config.py separately from the\n"
                   "backup (a password manager, a safe) and put them in the new instance's instance/config.py\n"
                   "before restoring.\n")
    return (
        "呼中区入河排污口平台 备份\n"
        "==========================\n"
        f"备份时间（UTC）：{when}；数据库：{engine}。\n"
        f"REPORTER_KEY 指纹：{fingerprint}（用于核对密钥，不能由它推出密钥）。\n\n"
        + zh_keys +
        "\n恢复：在新的空实例中运行 `portal restore 本目录`（会先核对 manifest.json 中每个文件的 SHA-256）。\n"
        "数据库先于照片复制：数据库引用的照片都在备份中；备份进行时新上传、数据库未引用的照片可能不在其中。\n\n"
        "Huzhong river outfall portal backup\n"
        "===================================\n"
        f"Made (UTC): {when}; database: {engine}.\n"
        f"REPORTER_KEY fingerprint: {fingerprint} (to check a key; the key cannot be derived from it).\n\n"
        + en_keys +
        "\nRestore: run `portal restore THIS-FOLDER` in a new, empty instance (it checks every file's SHA-256\n"
        "in manifest.json first). The database is copied before the photos: every photo it refers to is in\n"
        "the backup; photos uploaded during the backup that the database does not refer to may be left out.\n"
    )
