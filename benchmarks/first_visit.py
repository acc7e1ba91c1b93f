"""Benchmark: a resident's first visit on a phone — bytes on the wire and time until the page is usable.

Usage: .venv/bin/python benchmarks/first_visit.py [BASE_URL]
Without BASE_URL it builds a demo instance in a temporary folder (`portal db upgrade`, `portal seed-demo`,
BASEMAP none: tiles are not the portal's bytes), starts `portal serve` on 127.0.0.1:5071 and measures
`/` and `/reports/new`; with one, it measures that running portal. Prints one JSON object per page:
the median of three visits by usable time, on a server warmed first (``warm``: every worker has
rendered the page and compressed its files), so that the figures are the line's and the page's.

Each visit is Chromium (Debian's, headless) with a fresh profile and an empty cache, a 390 px wide
phone viewport, and the issue's emulated slow line through the DevTools protocol: 400 ms round trip,
400 kbit/s down and up. Figures (``measure``):

- ``bytes``: what crossed the wire for the page and everything it loaded until the network was idle
  (headers included, compressed bodies as sent: DevTools' encodedDataLength), and ``requests``;
- ``dom_content_loaded_ms``: from navigation start to DOMContentLoaded;
- ``ready_ms``: to the page's main control being ready (READY_SELECTORS: the map drawn with its
  markers on `/`, the location map of the report form on `/reports/new`), watched in the page by a
  MutationObserver, so it is the page's own clock; ``usable_ms`` is the later of the two;
- ``largest``: the five heaviest responses, to say what weighs.

The benchmark helper (benchmarks/serve.py) calls ``measure(base_url, path)``.
"""
from __future__ import annotations

import gzip
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import brotli

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
# Chromium's "slow 3G" as the issue states it; throughput in bytes per second.
LINE = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
VIEWPORT = {"width": 390, "height": 844}
# What "usable" means per page: the element that exists once the page's main control works.
READY_SELECTORS = {
    "/": "#map.leaflet-container .leaflet-marker-pane > *",
    "/reports/new": "#report-map.leaflet-container",
}
DEFAULT_READY = "main"
TARGET_BYTES = 250 * 1024
TARGET_MS = 3000
PAGES = ("/", "/reports/new")
PORT = 5071
ROUNDS = 3
WARM_REQUESTS = 12  # per page and file: enough to reach each of a few workers
KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

# Runs in the page before its own scripts: note when the ready element first appears.
_WATCH_READY = """selector => {
  const mark = () => { if (!window.__ready && document.querySelector(selector)) window.__ready = performance.now(); };
  new MutationObserver(mark).observe(document, {childList: true, subtree: true, attributes: true});
  document.addEventListener('DOMContentLoaded', mark);
}"""


def measure(base_url: str, path: str, timeout_ms: int = 60_000) -> dict:
    """One first visit of ``base_url + path`` on an emulated phone on a slow line: bytes and times."""
    from playwright.sync_api import sync_playwright

    selector = READY_SELECTORS.get(path.split("?")[0], DEFAULT_READY)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            context = browser.new_context(viewport=VIEWPORT, is_mobile=True, has_touch=True,
                                          device_scale_factor=3, locale="zh-CN")
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cdp.send("Network.emulateNetworkConditions", LINE)
            responses: dict[str, dict] = {}
            cdp.on("Network.responseReceived",
                   lambda event: responses.setdefault(event["requestId"], {}).update(
                       url=event["response"]["url"], status=event["response"]["status"],
                       encoding=event["response"]["headers"].get("content-encoding")
                       or event["response"]["headers"].get("Content-Encoding", "")))
            cdp.on("Network.loadingFinished",
                   lambda event: responses.setdefault(event["requestId"], {}).update(
                       bytes=event["encodedDataLength"]))
            page.add_init_script(f"({_WATCH_READY})({json.dumps(selector)})")
            page.goto(base_url.rstrip("/") + path, wait_until="load", timeout=timeout_ms)
            ready = True
            try:
                page.wait_for_function("() => window.__ready !== undefined", timeout=timeout_ms)
            except Exception:  # the control never became ready: say so rather than fail the run
                ready = False
            try:
                page.wait_for_load_state("networkidle", timeout=timeout_ms)
            except Exception:
                pass
            timing = page.evaluate("""() => {
              const [nav] = performance.getEntriesByType('navigation');
              return {dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, ready: window.__ready ?? null};
            }""")
        finally:
            browser.close()
    finished = [entry for entry in responses.values() if "bytes" in entry]
    total = sum(entry["bytes"] for entry in finished)
    usable = max(timing["dcl"], timing["ready"]) if ready and timing["ready"] is not None else None
    largest = sorted(finished, key=lambda entry: entry["bytes"], reverse=True)[:5]
    return {
        "path": path,
        "bytes": int(total),
        "requests": len(finished),
        "dom_content_loaded_ms": round(timing["dcl"]),
        "load_ms": round(timing["load"]),
        "ready_ms": round(timing["ready"]) if timing["ready"] is not None else None,
        "usable_ms": round(usable) if usable is not None else None,
        "ready_selector": selector,
        "meets_target": bool(usable is not None and total <= TARGET_BYTES and usable <= TARGET_MS),
        "largest": [{"url": entry.get("url", "?").replace(base_url.rstrip("/"), ""), "bytes": int(entry["bytes"]),
                     "encoding": entry.get("encoding", "")} for entry in largest],
    }


def _demo_server(folder: Path, port: int) -> subprocess.Popen:
    """`portal serve` on a fresh demo database in ``folder`` (BASEMAP none), answering once /healthz does."""
    environment = {**os.environ, "PORTAL_INSTANCE_PATH": str(folder), "PORTAL_SECRET_KEY": "benchmark",
                   "PORTAL_REPORTER_KEY": KEY, "PORTAL_DATABASE_URL": f"sqlite:///{folder}/portal.db",
                   "PORTAL_BASEMAP": "none"}
    portal = [str(Path(sys.executable).with_name("portal"))]
    for command in (["db", "upgrade"], ["seed-demo"]):
        subprocess.run(portal + command, env=environment, check=True, capture_output=True)
    server = subprocess.Popen(portal + ["serve", "--bind", f"127.0.0.1:{port}"], env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("portal serve did not answer /healthz")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def warm(base_url: str, path: str, times: int = WARM_REQUESTS) -> None:
    """Ask for the page and the files it links often enough to reach every worker: each keeps its own
    compressed files and (without Redis) its own page cache, and a visit landing on a cold worker would
    measure the server's first render instead of the line."""
    url = base_url.rstrip("/") + path
    for _ in range(times):
        for encoding in ("br", "gzip"):
            request = urllib.request.Request(url, headers={"Accept-Encoding": encoding})
            with urllib.request.urlopen(request, timeout=60) as response:
                html = response.read()
    html = (brotli.decompress(html) if encoding == "br" else gzip.decompress(html)).decode()
    for link in sorted(set(re.findall(r'(?:src|href)="(/(?:static|vendor)/[^"]+)"', html))):
        for _ in range(times):
            request = urllib.request.Request(base_url.rstrip("/") + link.replace("&amp;", "&"),
                                             headers={"Accept-Encoding": "br"})
            with urllib.request.urlopen(request, timeout=60) as response:
                response.read()


def median_visit(base_url: str, path: str, rounds: int = ROUNDS) -> dict:
    """The visit of median usable time among ``rounds`` first visits, on a warmed server."""
    warm(base_url, path)
    measure(base_url, path)  # and once through the browser (the map's data requests); not counted
    visits = [measure(base_url, path) for _ in range(rounds)]
    visits.sort(key=lambda visit: visit["usable_ms"] if visit["usable_ms"] is not None else float("inf"))
    chosen = visits[len(visits) // 2]
    return {**chosen, "rounds": rounds, "usable_ms_all": [visit["usable_ms"] for visit in visits]}


def main() -> None:
    """Measure the first visit of / and /reports/new, on a given portal or a demo one started here."""
    if len(sys.argv) > 1:
        for path in PAGES:
            print(json.dumps(median_visit(sys.argv[1], path), ensure_ascii=False))
        return
    if not _port_free(PORT):
        sys.exit(f"port {PORT} is taken: pass the BASE_URL of a running portal instead")
    with tempfile.TemporaryDirectory(prefix="first-visit-") as folder:
        server = _demo_server(Path(folder), PORT)
        try:
            for path in PAGES:
                print(json.dumps(median_visit(f"http://127.0.0.1:{PORT}", path), ensure_ascii=False))
        finally:
            server.terminate()
            server.wait(timeout=60)


if __name__ == "__main__":
    main()
