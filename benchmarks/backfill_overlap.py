"""A backfill against the rate-limited X API: the whole run against ingest alone.

    .venv/bin/python benchmarks/backfill_overlap.py [--windows 96 --limit 60 --period 60] [--check]

Against the fake X API v2 server (every answer takes --latency seconds, as a real round trip
does, under a rate limit of --limit requests per --period seconds: by default one a second, the
full-archive search's limit), each on a fresh server and
data dir: (1) `ingest` alone over the windows, the baseline; (2) `run`, where consume scores
each window while ingest still fetches, then the batch and the load. Prints both wall times,
their ratio, each stage's own time and peak memory; `--check` exits 1 when the run takes more
than 1.10 times the ingest alone. VADER scores (the default model would make consume, not the
API, the slowest stage on a laptop's cores).
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

from tweetsense.config import build_config
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.ingest import ingest
from tweetsense.pipeline.run import run_all
from tweetsense.secrets import Secrets
from tweetsense.sources.x_ratelimit import _SHARED


def _pipeline(args: argparse.Namespace, api: FakeXApi, folder: str) -> Pipeline:
    now = datetime.now(UTC)
    end = now.replace(minute=now.minute // 15 * 15, second=0, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(minutes=15 * args.windows)
    config = build_config(
        {
            "data_dir": folder,
            "search": {
                "query": "electric vehicles",
                "start_time": start,
                "end_time": end,
                "max_per_window": args.per_window,
            },
            "source": {
                "type": "x_api",
                "base_url": api.url,
                "concurrency": args.concurrency,
                "rate_margin": 0.02,
                "timeout": 5,
            },
            "sentiment": {"type": "vader"},
        },
        environ={},
    )
    return Pipeline(config, Secrets(environ={"X_BEARER_TOKEN": api.token}))


def one_run(args: argparse.Namespace, whole: bool) -> dict[str, Any]:
    _SHARED.clear()  # each run starts with the rate limit's whole budget
    server = FakeXApi(limit=args.limit, period=args.period, latency=args.latency, seed=1)
    with server as api, tempfile.TemporaryDirectory() as tmp:
        p = _pipeline(args, api, tmp)
        # The fake's rate-limit windows are aligned to the clock, as X's are: both runs start
        # at the beginning of one, so neither gets a luckier budget.
        time.sleep(args.period - time.time() % args.period + 0.05)
        started = time.perf_counter()
        if whole:
            report = run_all(p)
            seconds = {k: round(v, 2) for k, v in report.seconds.items()}
            posts = report.load.tweets
        else:
            report_ingest = ingest(p)
            seconds = {}
            posts = report_ingest.tweets
        wall = time.perf_counter() - started
        p.close()
        return {"wall": wall, "stages": seconds, "posts": posts, "requests": api.stats.requests}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=96, help="15-minute windows (a day)")
    parser.add_argument("--per-window", type=int, default=100, help="max_per_window")
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per answer")
    parser.add_argument("--limit", type=int, default=60, help="requests per rate-limit window")
    parser.add_argument("--period", type=int, default=60, help="rate-limit window, seconds")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--check", action="store_true", help="exit 1 above 1.10x")
    args = parser.parse_args()
    print(
        f"{args.windows} windows, max_per_window {args.per_window}, {args.latency}s per answer, "
        f"limit {args.limit} requests per {args.period}s, concurrency {args.concurrency}"
    )
    alone = one_run(args, whole=False)
    print(
        f"ingest alone: {alone['wall']:.1f} s, {alone['posts']:,} posts, "
        f"{alone['requests']} requests",
        flush=True,
    )
    run = one_run(args, whole=True)
    ratio = run["wall"] / alone["wall"]
    print(
        f"run (consume beside ingest, then batch, load): {run['wall']:.1f} s, "
        f"{run['posts']:,} posts loaded, {run['requests']} requests; stages {run['stages']}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"run / ingest alone: {ratio:.3f}x (target <= 1.10x); peak RSS {peak:.0f} MB")
    if args.check and ratio > 1.10:
        sys.exit(1)


if __name__ == "__main__":
    main()
