"""Write samples-long.xlsx: an invented lab report in long form (one row per parameter), as labs send it.

Run from the repository root: ``python examples/bureau/make_samples.py``. The file is committed too, so
that the tests and the README's "load the bureau's files" need not run this script. The results are
invented but realistic for the example sites (HZ-GY-001, HZ-WS-001).
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
HEADER = ["序号", "点位编码", "采样时间", "监测项目", "监测结果", "单位", "检出限", "采样人", "检测单位", "流量(m³/d)"]
LAB = "大兴安岭环境监测中心站"
# (site, sampling time, parameter as the lab writes it, result, unit, detection limit, sampler, flow)
ROWS = [
    # The factory's effluent, judged by GB 8978 一级 (呼玛河 is class III).
    ("HZ-GY-001", datetime(2026, 9, 15, 10, 0), "化学需氧量", 86, "mg/L", None, "刘洋", None),
    ("HZ-GY-001", datetime(2026, 9, 15, 10, 0), "五日生化需氧量", 18.5, "mg/L", None, "刘洋", None),
    ("HZ-GY-001", datetime(2026, 9, 15, 10, 0), "悬浮物", 42, "mg/L", None, "刘洋", None),
    ("HZ-GY-001", datetime(2026, 9, 15, 10, 0), "氨氮(以N计)", 3.2, "mg/L", None, "刘洋", None),
    ("HZ-GY-001", datetime(2026, 9, 15, 10, 0), "总磷(以P计)", 380, "μg/L", None, "刘洋", None),
    ("HZ-GY-001", datetime(2026, 9, 15, 10, 0), "pH值", 7.4, "无量纲", None, "刘洋", None),
    # The treatment plant in November: 8 ℃ water, so GB 18918 一级A's cold NH3-N limit (8) applies.
    ("HZ-WS-001", datetime(2026, 11, 20, 9, 30), "水温", 8, "℃", None, "陈静", 3200),
    ("HZ-WS-001", datetime(2026, 11, 20, 9, 30), "CODcr", 38, "mg/L", None, "陈静", 3200),
    ("HZ-WS-001", datetime(2026, 11, 20, 9, 30), "氨氮", 6.5, "mg/L", None, "陈静", 3200),
    ("HZ-WS-001", datetime(2026, 11, 20, 9, 30), "总磷", "ND", "mg/L", 0.01, "陈静", 3200),
    ("HZ-WS-001", datetime(2026, 11, 20, 9, 30), "粪大肠菌群数", 240, "MPN/L", None, "陈静", 3200),
    # The same plant in September at 15 ℃: the plain limit 5 applies and 6.5 exceeds it.
    ("HZ-WS-001", datetime(2026, 9, 10, 9, 30), "水温", 15, "℃", None, "陈静", 3500),
    ("HZ-WS-001", datetime(2026, 9, 10, 9, 30), "COD(Cr)", 42, "mg/L", None, "陈静", 3500),
    ("HZ-WS-001", datetime(2026, 9, 10, 9, 30), "氨氮", 6.5, "mg/L", None, "陈静", 3500),
]


def write(path: Path = HERE / "samples-long.xlsx") -> Path:
    """Write the long-form example workbook and return its path."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "监测结果"
    sheet.append(["呼中区入河排污口监测结果（2026年）"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(HEADER)
    for number, (site, moment, parameter, value, unit, limit, sampler, flow) in enumerate(ROWS, start=1):
        sheet.append([number, site, moment, parameter, value, unit, limit, sampler, LAB, flow])
        sheet.cell(row=sheet.max_row, column=3).number_format = "yyyy-mm-dd hh:mm"
    for column, width in zip("ABCDEFGHIJ", (6, 14, 18, 16, 10, 8, 8, 8, 24, 12)):
        sheet.column_dimensions[column].width = width
    workbook.save(path)
    return path


if __name__ == "__main__":
    print(write())
