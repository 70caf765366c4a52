"""End-to-end throughput and peak memory of the pipeline on N synthetic posts.

    python benchmarks/pipeline.py --tweets 100000 1000000 [--analyzer vader|default]

Each size runs in a fresh process on the embedded backends (100 posts per 15-minute window, as
in the reference design). The baseline, measured in the same run, is the analyzer alone scoring
the same kind of posts on one core (VADER unless `--analyzer` names another); the pipeline's
figures are also given as a ratio of it, since this machine is shared and absolute numbers drift.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

PER_WINDOW = 100
START = datetime(2024, 3, 1, tzinfo=UTC)


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def baseline(analyzer_name: str, n: int = 20000) -> float:
    """The analyzer alone, one core: posts/s on synthetic posts."""
    from tweetsense.config import load_config
    from tweetsense.registry import Context, create
    from tweetsense.timeutil import windows_between

    env = {"TWEETSENSE_SENTIMENT__TYPE": analyzer_name}
    ctx = Context(load_config(None, demo=True, environ=env))
    source = create("source", ctx)
    texts: list[str] = []
    for w in windows_between(START, START + timedelta(days=30), 900):
        for page in source.fetch_window("electric vehicles", w, PER_WINDOW):
            texts.extend(t["text"] for t in page.get("data", ()))
        if len(texts) >= n:
            break
    analyzer = create("sentiment", ctx)
    started = time.perf_counter()
    analyzer.analyze(texts[:n])
    return n / (time.perf_counter() - started)


def one(n: int, data_dir: Path, analyzer_name: str) -> dict:
    from tweetsense.config import load_config
    from tweetsense.pipeline import Pipeline, run_all

    windows = n // PER_WINDOW
    end = START + timedelta(minutes=15 * windows)
    env = {
        "TWEETSENSE_SEARCH__END_TIME": end.isoformat(),
        "TWEETSENSE_SEARCH__MAX_PER_WINDOW": str(PER_WINDOW),
        "TWEETSENSE_SENTIMENT__TYPE": analyzer_name,
    }
    shutil.rmtree(data_dir, ignore_errors=True)
    config = load_config(None, demo=True, data_dir=data_dir, environ=env)
    started = time.perf_counter()
    report = run_all(Pipeline(config))
    wall = time.perf_counter() - started
    return {
        "tweets": report.ingest.tweets,
        "windows": windows,
        "wall_s": wall,
        "stage_s": report.seconds,
        "rss_main_mb": _rss_mb(resource.RUSAGE_SELF),
        "rss_workers_mb": _rss_mb(resource.RUSAGE_CHILDREN),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--data-dir", type=Path, default=Path(".bench"))
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON object per size")
    parser.add_argument("--analyzer", default="vader", help="sentiment analyzer (default: vader)")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.data_dir / str(args.one), args.analyzer)))
        return

    base = baseline(args.analyzer)
    print(f"baseline: {args.analyzer} alone, 1 core: {base:,.0f} posts/s")
    header = (
        f"{'posts':>10} {'wall s':>8} {'e2e/s':>9} {'x base':>8} {'ingest/s':>10} "
        f"{'consume/s':>10} {'batch/s':>10} {'load/s':>10} {'RSS MB':>8} {'workers MB':>10}"
    )
    print(header)
    for n in args.tweets:
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--data-dir",
                str(args.data_dir),
                "--analyzer",
                args.analyzer,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        r["baseline_vader_per_s"] = base
        if args.json:
            print(json.dumps(r))
            continue
        rate = {k: r["tweets"] / v for k, v in r["stage_s"].items()}
        e2e = r["tweets"] / r["wall_s"]
        print(
            f"{r['tweets']:>10,} {r['wall_s']:>8.1f} {e2e:>9,.0f} {e2e / base:>8.2f} "
            f"{rate['ingest']:>10,.0f} {rate['consume']:>10,.0f} {rate['batch']:>10,.0f} "
            f"{rate['load']:>10,.0f} {r['rss_main_mb']:>8.0f} {r['rss_workers_mb']:>10.0f}"
        )
        shutil.rmtree(args.data_dir / str(n), ignore_errors=True)


if __name__ == "__main__":
    main()
