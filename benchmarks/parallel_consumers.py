"""Consume throughput with 1 and 2 worker processes, per stream backend, in one run.

    python benchmarks/parallel_consumers.py [--days 8] [--repeat 3] [--backends sqlite redis kafka]

For each backend and worker count: a fresh data dir, the synthetic demo query ingested (100
posts per 15-minute window; not timed), then `consume --workers N`, one scoring core per
consumer (sentiment.workers: 1). Redis and Kafka (Tansu) servers are started on free loopback
ports. Two rates per case, each with its ratio to 1 worker on the same backend: "wall" counts
from the call to its return (worker start-up, model loads and group joins included: Kafka's
group join alone takes about 3 s); "scoring" counts from the first record any consumer received
to the last commit. Each case runs --repeat times, alternating 1 and 2 workers, and its
fastest run is printed. Also peak RSS of the case's main process and of its largest worker (each
case runs in its own child process).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2024, 3, 1, tzinfo=UTC)  # the demo query's first window

ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def running_server(backend: str) -> Iterator[dict[str, object]]:
    """The backend's server, as the tests start it (tests/servers), and its stream settings."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if backend == "redis":
        from tests.servers.redis import running_redis

        with running_redis() as url:
            yield {"url": url}
    elif backend == "kafka":
        from tests.servers.kafka import running_kafka

        with running_kafka() as bootstrap:
            yield {"bootstrap_servers": bootstrap, "session_timeout_ms": 6000}
    else:
        yield {}


def one_case(backend: str, options: dict, workers: int, days: int, tag: str) -> dict:
    """Runs in a child process: ingest (untimed), then a timed consume."""
    from tweetsense.config import load_config
    from tweetsense.pipeline import Pipeline
    from tweetsense.pipeline.consume import consume
    from tweetsense.pipeline.ingest import ingest

    data_dir = Path(tempfile.mkdtemp(prefix="tweetsense-bench-"))
    stream = {"type": backend, **options}
    if backend == "redis":
        stream["stream"] = f"bench-{tag}"
    if backend == "kafka":
        stream["topic"] = f"bench-{tag}"
    # One scoring core per consumer, so 1 worker uses one core and 2 workers use two.
    environ = {
        "TWEETSENSE_SEARCH__END_TIME": f"{START + timedelta(days=days):%Y-%m-%dT%H:%M:%SZ}",
        "TWEETSENSE_SENTIMENT__WORKERS": "1",
    }
    config = load_config(None, demo=True, data_dir=data_dir, environ=environ)
    config = config.model_copy(update={"stream": type(config.stream).model_validate(stream)})
    p = Pipeline(config)
    try:
        ingest(p)
        started = time.perf_counter()
        report = consume(p, workers=workers)
        seconds = time.perf_counter() - started
    finally:
        p.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    return {
        "posts": report.tweets,
        "windows": report.scored_windows,
        "seconds": seconds,
        "busy_seconds": report.busy_seconds,
        "rss_self_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_workers_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=8, help="days of 15-minute windows")
    parser.add_argument("--backends", nargs="+", default=["sqlite", "redis", "kafka"])
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is kept")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(one_case(**json.loads(args.case))))
        return
    print(
        f"{'backend':8} {'workers':>7} {'posts':>8} {'wall s':>7} {'wall/s':>8} {'x 1':>5} "
        f"{'scoring s':>9} {'scoring/s':>9} {'x 1':>5} {'RSS main MB':>11} {'RSS worker MB':>13}"
    )
    for backend in args.backends:
        with running_server(backend) as options:
            best: dict[int, dict] = {}
            # Alternating 1 and 2 workers, best of --repeat: a burst of load elsewhere on a shared
            # machine then hits both counts alike and rarely the one figure kept.
            for _ in range(args.repeat):
                for workers in (1, 2):
                    r = run_case(backend, options, workers, args.days)
                    if workers not in best or r["seconds"] < best[workers]["seconds"]:
                        best[workers] = r
            one, one_busy = best[1]["posts"] / best[1]["seconds"], None
            for workers, r in sorted(best.items()):
                rate = r["posts"] / r["seconds"]
                busy = r["posts"] / r["busy_seconds"]
                one_busy = one_busy or busy
                print(
                    f"{backend:8} {workers:>7} {r['posts']:>8,} {r['seconds']:>7.2f} "
                    f"{rate:>8,.0f} {rate / one:>5.2f} {r['busy_seconds']:>9.2f} {busy:>9,.0f} "
                    f"{busy / one_busy:>5.2f} {r['rss_self_mb']:>11.0f} "
                    f"{r['rss_workers_mb']:>13.0f}",
                    flush=True,
                )


def run_case(backend: str, options: dict, workers: int, days: int) -> dict:
    """One case in a fresh child process; its figures."""
    case = {
        "backend": backend,
        "options": options,
        "workers": workers,
        "days": days,
        "tag": f"{workers}-{time.time_ns()}",
    }
    done = subprocess.run(
        [sys.executable, __file__, "--case", json.dumps(case)], capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"{backend} with {workers} workers failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
