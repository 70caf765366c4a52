"""The dashboard over one year of 15-minute windows (35,040), generated straight into a DuckDB
warehouse: response times of the JSON endpoints and the page's time to interactive in Chromium.

    python benchmarks/dashboard.py [--runs 20] [--windows 35040]

Targets: every data endpoint under 200 ms, the page interactive in under 2 s. The server is
`tweetsense dashboard` in its own process; its peak RSS is read from /proc when it stops.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.servers import free_port, wait_for_port  # noqa: E402
from tests.servers.chromium import launch  # noqa: E402

from tweetsense.warehouse.dialects import DUCKDB  # noqa: E402

QUERY = "electric vehicles"


def build(path: Path, windows: int) -> None:
    """``sentiment`` rows for every window and 20 ``tweet`` rows for each of the last 500."""
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    for statement in DUCKDB.ddl():
        con.execute(statement)
    con.execute(
        """
        INSERT INTO sentiment
        WITH w AS (
            SELECT i, TIMESTAMPTZ '2023-01-01 00:00:00+00' + i * INTERVAL 15 MINUTE AS t,
                   80 + CAST(floor(random() * 41) AS BIGINT) AS n,
                   random() AS p, random() AS q, random() AS r, random() * 0.1 AS m
            FROM range(?) r(i)
        )
        SELECT ?, t, n, p / (p + q + r + m), q / (p + q + r + m), r / (p + q + r + m),
               m / (p + q + r + m), p / (p + q + r), q / (p + q + r), r / (p + q + r), 0
        FROM w
        """,
        [windows, QUERY],
    )
    con.execute(
        """
        INSERT INTO tweet (query, tweet_id, created_at, time_window, text, username, label,
                           positive, negative, neutral, mixed, analyzer)
        SELECT ?, CAST(w * 100 + k AS VARCHAR),
               TIMESTAMPTZ '2023-01-01 00:00:00+00' + w * INTERVAL 15 MINUTE
                   + k * INTERVAL 30 SECOND,
               TIMESTAMPTZ '2023-01-01 00:00:00+00' + w * INTERVAL 15 MINUTE,
               'post ' || k || ' about electric vehicles', 'user' || k, 'NEUTRAL',
               0.2, 0.2, 0.6, 0.0, 'default'
        FROM range(? - 500, ?) a(w), range(20) b(k)
        """,
        [QUERY, windows, windows],
    )
    con.close()


def timed_get(client: httpx.Client, url: str, params: dict[str, str], runs: int) -> list[float]:
    client.get(url, params=params).raise_for_status()  # warm-up
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        r = client.get(url, params=params)
        r.raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def page_figures(url: str, runs: int) -> list[tuple[float, float, float]]:
    from playwright.sync_api import sync_playwright

    figures = []
    with sync_playwright() as pw:
        browser = launch(pw)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']", timeout=30000)
            ready_wall = (time.perf_counter() - t0) * 1000
            ready_page = float(page.get_attribute("body", "data-ready-ms") or "nan")
            # Interactive: a hover on the year-long timeline answers with its tooltip.
            box = page.locator("#chart-sentiment .u-over").bounding_box()
            assert box is not None
            t1 = time.perf_counter()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 30)
            page.locator("#tip").wait_for(state="visible")
            hover = (time.perf_counter() - t1) * 1000
            assert page.locator("#chart-sentiment").get_attribute("data-points") is not None
            figures.append((ready_page, ready_wall, hover))
            page.close()
        browser.close()
    return figures


def summary(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"median {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms   max {ms[-1]:7.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--windows", type=int, default=35040)
    ap.add_argument("--runs", type=int, default=20, help="requests per endpoint")
    ap.add_argument("--page-runs", type=int, default=5, help="page loads in Chromium")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="tweetsense-dash-bench-") as tmp:
        data = Path(tmp)
        t0 = time.perf_counter()
        build(data / "warehouse.duckdb", args.windows)
        print(f"warehouse: {args.windows:,} windows generated in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("TWEETSENSE_")}
        cmd = [sys.executable, "-m", "tweetsense.cli.app", "dashboard", "--demo"]
        cmd += ["--data-dir", str(data), "--port", str(port)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port)
            base = f"http://127.0.0.1:{port}"
            q = {"query": QUERY}
            week = {**q, "start": "2023-12-24T00:00:00Z", "end": "2023-12-31T00:00:00Z"}
            window = {**q, "window": "2023-12-31T12:00:00Z"}
            cases = [
                ("/api/queries", {}),
                ("/api/summary", q),
                ("/api/windows", q),
                ("/api/summary", week),
                ("/api/windows", week),
                ("/api/tweets", window),
            ]
            worst = 0.0
            # Accept-Encoding: gzip as a browser sends it.
            with httpx.Client(base_url=base, timeout=30) as client:
                size = len(client.get("/api/windows", params=q).content)
                print(f"/api/windows of the whole year: {size / 1e6:.2f} MB of JSON")
                for path, params in cases:
                    ms = timed_get(client, path, params, args.runs)
                    worst = max(worst, statistics.median(ms))
                    label = path + (" (7 days)" if "start" in params else "")
                    print(f"{label:24s} {summary(ms)}")
            figures = page_figures(base + "/", args.page_runs)
            tti = [f[0] for f in figures]
            print(f"page ready (performance.now at data-ready): {summary(tti)}")
            print(f"page ready (goto to ready, wall clock):     {summary([f[1] for f in figures])}")
            print(f"hover tooltip after ready:                  {summary([f[2] for f in figures])}")
        finally:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM"))
            proc.terminate()
            proc.wait(timeout=10)
        print(
            f"peak RSS: dashboard server {int(hwm) / 1024:.0f} MB, this process "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
        )
        ok = worst < 200 and max(tti) < 2000
        print(f"targets (endpoints < 200 ms median, page < 2 s): {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
