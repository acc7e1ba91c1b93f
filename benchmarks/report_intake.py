"""Benchmark: the time to accept a report with two 4 MB photos, through the whole WSGI app.

Usage: .venv/bin/python benchmarks/report_intake.py [RUNS]
Uses a fresh SQLite database with the demo data (routing needs towns and rivers). Each run posts
the multipart form with two distinct ~4 MB phone-sized JPEGs and times it up to the 303 redirect.
"""
from __future__ import annotations

import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from portal import create_app  # noqa: E402
from portal.reports.privacy import new_key  # noqa: E402


def photo(seed: int, target_bytes: int = 4 * 1024 * 1024) -> bytes:
    """A 4000×3000 JPEG of noise-like content, about ``target_bytes`` long, like a phone's photo."""
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (500, 375), bytes(rng.randrange(256) for _ in range(500 * 375 * 3)))
    image = small.resize((4000, 3000), Image.Resampling.BICUBIC)
    for quality in (95, 90, 85, 80, 75, 70):
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
        if buffer.tell() <= target_bytes * 1.1:
            break
    return buffer.getvalue()


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    os.environ.setdefault("PORTAL_INSTANCE_PATH", str(folder))
    app = create_app({"SECRET_KEY": "bench", "REPORTER_KEY": new_key(), "DATABASE_URL": f"sqlite:///{folder}/b.db",
                      "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False})
    from flask_migrate import upgrade

    from portal.db import transaction
    from portal import demo

    with app.app_context():
        upgrade()
        with transaction():
            demo.seed()
    photos = [photo(1), photo(2)]
    print("photo sizes:", ", ".join(f"{len(p) / 1048576:.1f} MB" for p in photos))
    client = app.test_client()
    timings = []
    for _ in range(runs):
        data = {"category": "direct_discharge", "description": "基准测试：河边排灰色污水。", "consent": "y",
                "lat": "52.0306", "lon": "123.5888", "submit": "提交举报",
                "photos": [(io.BytesIO(p), f"p{i}.jpg") for i, p in enumerate(photos)]}
        start = time.perf_counter()
        response = client.post("/reports/new", data=data, content_type="multipart/form-data")
        timings.append(time.perf_counter() - start)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
    print(f"accept a report with two ~4 MB photos: median {statistics.median(timings):.2f} s, "
          f"min {min(timings):.2f} s, max {max(timings):.2f} s over {runs} runs")


if __name__ == "__main__":
    main()
