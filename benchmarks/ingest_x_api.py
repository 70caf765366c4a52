"""Ingest throughput under the X API rate limit, against the fake X API v2 server.

    .venv/bin/python benchmarks/ingest_x_api.py [--windows 400 --limit 45 --period 3]

Runs of the same windows, each on a fresh fake server and data dir: concurrency 4, concurrency
1, and concurrency 4 with 20% of requests failing (429, 503, timeouts, dropped connections);
then concurrency 1 and 4 over the last --latency-windows windows with every answer taking
--latency seconds, as a real API's round trip does (the fake otherwise answers in
milliseconds, so one thread alone already reaches the limit). For each: requests, achieved
request rate as a share of the allowed rate (over the whole run, and per full rate-limit
window), requests the server refused for passing the limit, windows lost, posts whose author
was joined, and peak memory.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.servers.fake_x_api import FakeXApi

from tweetsense import layout
from tweetsense.config import build_config
from tweetsense.contracts import StagingDoc
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.ingest import ingest
from tweetsense.secrets import Secrets
from tweetsense.sources.x_ratelimit import _SHARED


def one_run(
    args: argparse.Namespace,
    concurrency: int,
    failure_rate: float,
    latency: float = 0.0,
    windows: int | None = None,
) -> dict[str, Any]:
    _SHARED.clear()
    windows = windows or args.windows
    now = datetime.now(UTC)
    end = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(minutes=15 * windows)
    with (
        FakeXApi(
            limit=args.limit,
            period=args.period,
            failure_rate=failure_rate,
            hang=1.0,
            seed=1,
            latency=latency,
        ) as api,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = build_config(
            {
                "data_dir": tmp,
                "search": {
                    "query": "electric vehicles",
                    "start_time": start,
                    "end_time": end,
                    "max_per_window": args.per_window,
                },
                "source": {
                    "type": "x_api",
                    "base_url": api.url,
                    "concurrency": concurrency,
                    "rate_margin": 0.02,
                    "timeout": 0.5,
                    "backoff": 0.05,
                    "max_backoff": 0.5,
                },
            },
            environ={},
        )
        p = Pipeline(config, Secrets(environ={"X_BEARER_TOKEN": api.token}))
        started = time.perf_counter()
        report = ingest(p)
        seconds = time.perf_counter() - started
        posts = joined = stored = 0
        for window in p.windows:
            key = layout.staging_key(p.slug, window)
            if not p.store.exists(key):
                continue
            stored += 1
            for page in StagingDoc.decode(p.store.get(key)).pages:
                users = {u["id"] for u in (page.get("includes") or {}).get("users", [])}
                for post in page.get("data") or []:
                    posts += 1
                    joined += post.get("author_id") in users
        consumer = p.stream.consumer("bench")
        records: list[str] = []
        while batch := consumer.poll(1000):
            records.extend(m.key for m in batch)
            consumer.commit(batch)
        p.close()
        stats = api.stats
        limit_windows = sorted(stats.per_window.items())
        full = limit_windows[1:-1] or limit_windows
        per_window = sum(n for _, n in full) / (len(full) * args.limit)
    allowed = args.limit / args.period
    return {
        "concurrency": concurrency,
        "failures": failure_rate,
        "seconds": seconds,
        "requests": stats.requests,
        "rate": stats.requests / seconds / allowed,
        "per_window": per_window,
        "violations": stats.violations,
        "injected": sum(stats.injected.values()),
        "lost": windows - stored,
        "failed": len(report.failed),
        "records": len(records),
        "unique_records": len(set(records)),
        "posts": posts,
        "joined": joined,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=400)
    parser.add_argument("--limit", type=int, default=45, help="requests per rate-limit window")
    parser.add_argument("--period", type=int, default=3, help="rate-limit window, seconds")
    parser.add_argument("--per-window", type=int, default=100, help="max_per_window")
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per answer")
    parser.add_argument("--latency-windows", type=int, default=100)
    args = parser.parse_args()
    print(
        f"{args.windows} windows, limit {args.limit} requests per {args.period}s "
        f"(allowed {args.limit / args.period:.1f} req/s), max_per_window {args.per_window}"
    )
    header = (
        f"{'run':<24}{'s':>7}{'requests':>10}{'rate %':>8}{'per-window %':>14}{'over':>6}"
        f"{'lost':>6}{'records':>9}{'authors joined':>16}"
    )
    print(header)
    runs = [(4, 0.0, 0.0), (1, 0.0, 0.0), (4, 0.2, 0.0), (1, 0.0, args.latency)]
    runs.append((4, 0.0, args.latency))
    for concurrency, failures, latency in runs:
        windows = args.latency_windows if latency else args.windows
        r = one_run(args, concurrency, failures, latency, windows)
        name = f"concurrency {concurrency}" + (f", {failures:.0%} fail" if failures else "")
        name += f", {latency * 1000:.0f} ms" if latency else ""
        print(
            f"{name:<24}{r['seconds']:>7.1f}{r['requests']:>10}{r['rate']:>8.1%}"
            f"{r['per_window']:>14.1%}{r['violations']:>6}{r['lost']:>6}"
            f"{r['unique_records']:>5}/{r['records']:<3}"
            f"{r['joined']:>9}/{r['posts']:<6}",
            flush=True,
        )
        if failures:
            print(
                f"  injected failures: {r['injected']}, windows failed after retries: {r['failed']}"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
