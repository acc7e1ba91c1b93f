"""Benchmark: import and export of a generated ledger.

Usage: .venv/bin/python benchmarks/ledger_import.py [ROWS] [sample-ledger.xlsx]
Runs on a fresh SQLite database in a temporary folder, or on PORTAL_DATABASE_URL if set
(the database must be empty). Prints wall-clock seconds for each step and the process's peak
resident memory so far (ru_maxrss), then reads a 1.6 KB workbook whose only cell is XFD1048576.
"""
from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook  # noqa: E402

from portal import create_app  # noqa: E402
from portal.db import transaction  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.registry import ledger_import  # noqa: E402
from portal.registry.ledger_export import export_ledger  # noqa: E402

TOWNS = ["呼中镇", "呼源镇", "碧水镇", "宏伟镇"]
WATERS = ["呼玛河", "呼玛河支流", "碧水河", "小白河", "岭峰河"]
TYPES = [("工业排污口", "工矿企业排污口"), ("农业排口", "规模化畜禽养殖排污口"), ("其他排口", "城镇雨洪排口"),
         ("城镇污水处理厂排污口", "城镇污水处理厂排污口")]
MEASURES = ["依法取缔", "清理合并", "规范整治", "保留"]
STATUSES = ["未开始", "整治中", "已完成", "已销号"]
HEADER = ["序号", "排污口编码", "排污口名称", "所在镇", "受纳水体", "经度", "纬度", "排污口类型", "排污口类别",
          "责任主体", "责任主体联系电话", "排放方式", "审批登记情况", "整治类型", "整治措施", "整治时限", "整治进展",
          "包保领导", "备注"]


def import_ledger(path: Path, dry_run: bool = False):
    """Import as `portal import-ledger --create-towns` does (a scratch database knows no towns yet):
    committed in one transaction, a dry run rolled back."""
    if dry_run:
        result = ledger_import.import_ledger(path, dry_run=True, create_towns=True)
        db.session.rollback()
        return result
    with transaction():
        return ledger_import.import_ledger(path, create_towns=True)


def generate(path: Path, rows: int) -> None:
    """A ledger of ``rows`` invented outfalls, mixing decimal and 度分秒 positions and date forms."""
    rng = random.Random(7)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["基准测试台账（生成数据）"])
    sheet.append(HEADER)
    for n in range(1, rows + 1):
        kind, sub = rng.choice(TYPES)
        lon, lat = 123 + rng.random(), 51.8 + rng.random() / 2
        if n % 3 == 0:
            lon_cell = f"{int(lon)}°{int(lon % 1 * 60)}′{int(lon * 3600 % 60)}″"
            lat_cell = f"{int(lat)}°{int(lat % 1 * 60)}′{int(lat * 3600 % 60)}″"
        else:
            lon_cell, lat_cell = round(lon, 6), round(lat, 6)
        deadline = date(2026, 1, 1) + timedelta(days=rng.randrange(700))
        deadline_cell = deadline if n % 2 else f"{deadline.year}年{deadline.month}月{deadline.day}日"
        sheet.append([n, f"BM-{n:06d}", f"基准排污口{n}", rng.choice(TOWNS), rng.choice(WATERS), lon_cell, lat_cell,
                      kind, sub, f"基准测试单位{n % 300}厂", "0457-3300000", "间歇", "已登记", rng.choice(MEASURES),
                      "设置标识牌", deadline_cell, rng.choice(STATUSES), "王建国", None])
    workbook.save(path)


def timed(label, function):
    """Run ``function``, print how long it took, return its result."""
    start = time.perf_counter()
    result = function()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label}: {time.perf_counter() - start:.2f} s, peak RSS so far {peak:.0f} MB")
    return result


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    folder = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    os.environ.setdefault("PORTAL_INSTANCE_PATH", str(folder))
    app = create_app({"LEDGER_MAX_ROWS": max(rows, 20_000), "SECRET_KEY": "bench", "REPORTER_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "DATABASE_URL": os.environ.get("PORTAL_DATABASE_URL")
                      or f"sqlite:///{folder}/bench.db"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        if len(sys.argv) > 2:
            timed("sample ledger import", lambda: import_ledger(Path(sys.argv[2])))
        ledger = folder / "ledger.xlsx"
        timed(f"generate {rows}-row ledger", lambda: generate(ledger, rows))
        timed("dry run", lambda: import_ledger(ledger, dry_run=True))
        result = timed("import (all new)", lambda: import_ledger(ledger))
        assert len(result.added) == rows, result.report()
        result = timed("re-import (unchanged)", lambda: import_ledger(ledger))
        assert result.unchanged == rows
        timed("export", lambda: export_ledger(folder / "export.xlsx"))
        result = timed("import of the export (unchanged)", lambda: import_ledger(folder / "export.xlsx"))
        assert result.unchanged == rows + (24 if len(sys.argv) > 2 else 0)
        timed("a lone cell at XFD1048576 (refused: no header)", lambda: _refused(last_cell_workbook(folder)))


def last_cell_workbook(folder: Path) -> Path:
    """A 1.6 KB workbook declaring A1:XFD1048576 whose only cell is the sheet's last."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from ledger_files import text_cell, write_raw_xlsx

    return write_raw_xlsx(folder / "last-cell.xlsx", '<row r="1048576">' + text_cell("XFD1048576", "x") + "</row>",
                          dimension="A1:XFD1048576")


def _refused(path: Path):
    from portal.registry.ledger_import import LedgerRejected

    try:
        import_ledger(path)
    except LedgerRejected as rejected:
        return rejected
    raise AssertionError("the workbook was not refused")


if __name__ == "__main__":
    main()
