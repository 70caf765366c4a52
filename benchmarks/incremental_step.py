"""One 15-minute step of a followed topic against a full recompute, on a long history.

    python benchmarks/incremental_step.py --tweets 1000000
    TWEETSENSE_BATCH__MEMORY_LIMIT=256MB python benchmarks/incremental_step.py --tweets 1000000

The history is generated as in ``batch_engines.py`` (100 posts a window: 1M posts are 10,000
windows, about 104 days; 5% re-delivered in a later window), under .bench/incremental. Then, in
one process on the embedded backends (DuckDB batch and warehouse): a full batch and load of the
history, two steps that each add one window (the batch recomputes only what changed and the
load replaces only those windows), a step with nothing new, and a full recompute of the same
files as the baseline measured in the same run. The step's outputs are checked equal to the
full recompute's. Prints seconds, the ratios and peak memory.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import batch_engines as generated

FREQ = generated.FREQ


def _pipeline(root: Path, windows: int):  # type: ignore[no-untyped-def]
    from tweetsense.config import load_config
    from tweetsense.pipeline import Pipeline
    from tweetsense.timeutil import format_utc

    end = generated.START + timedelta(seconds=FREQ * windows)
    # Other settings come from the environment, e.g. TWEETSENSE_BATCH__MEMORY_LIMIT=256MB.
    environ = {
        **os.environ,
        "TWEETSENSE_SEARCH__QUERY": generated.QUERY,
        "TWEETSENSE_SEARCH__START_TIME": format_utc(generated.START),
        "TWEETSENSE_SEARCH__END_TIME": format_utc(end),
        "TWEETSENSE_SEARCH__FREQ": "15min",
    }
    return Pipeline(load_config(None, demo=True, data_dir=root, environ=environ))


def _add_window(p, index: int, per_window: int, rng: random.Random) -> None:  # type: ignore[no-untyped-def]
    """One more window of posts, written as ingest and consume write them."""
    from tweetsense import columnar, layout
    from tweetsense.contracts import SentimentDoc, StagingDoc
    from tweetsense.timeutil import Window, format_utc

    start = generated.START + timedelta(seconds=FREQ * index)
    window = Window(start, start + timedelta(seconds=FREQ))
    posts = [
        {
            "id": f"{start.timestamp():.0f}{j:06d}",
            "text": f"post {j} about electric vehicles {rng.random():.6f}",
            "created_at": format_utc(start + timedelta(seconds=rng.random() * FREQ)),
            "author_id": f"u{rng.randint(0, 50_000)}",
            "lang": "en",
        }
        for j in range(per_window)
    ]
    # Users as the history has them: an author whose user object changed would make the
    # step recompute the windows of that author's earlier posts too.
    authors = sorted({q["author_id"] for q in posts})
    users = [
        {"id": a, "username": f"name{a}", "name": f"Name {a}", "verified": a.endswith("7")}
        for a in authors
        if not a.endswith("3")
    ]
    pages = [{"data": posts, "includes": {"users": users}, "meta": {"result_count": len(posts)}}]
    staging_key = layout.staging_key(p.slug, window)
    columnar.put_staging(p.store, staging_key, StagingDoc(generated.QUERY, window, "bench", pages))
    scores = [
        {"tweet_id": q["id"], "label": rng.choice(generated.LABELS), "positive": 0.4,
         "negative": 0.3, "neutral": 0.2, "mixed": 0.1}
        for q in posts
    ]  # fmt: skip
    doc = SentimentDoc(generated.QUERY, window, "random", staging_key, "", scores)
    columnar.put_sentiment(p.store, layout.sentiment_key(p.slug, window), doc)


def _timed(fn, *args):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def _windows_rows(p) -> list[tuple]:  # type: ignore[no-untyped-def]
    import duckdb

    from tweetsense.pipeline.batch import outputs_for

    out = outputs_for(p.slug)
    con = duckdb.connect()
    try:
        # Sums of floats in another order differ in the last bits: rounded to 9 places.
        rows = {
            name: [
                tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                for row in con.execute(
                    f"SELECT * FROM read_parquet('{p.store.uri(getattr(out, name))}') ORDER BY ALL"
                ).fetchall()
            ]
            for name in ("windows_parquet", "drivers_parquet", "scores_parquet")
        }
        rows["tweets"] = con.execute(
            f"SELECT count(*), sum(hash(tweet_id, label, username)) "
            f"FROM read_parquet('{p.store.uri(out.tweets_parquet)}')"
        ).fetchall()
        return rows
    finally:
        con.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tweets", type=int, default=1_000_000)
    parser.add_argument("--per-window", type=int, default=100)
    parser.add_argument("--dir", type=Path, default=Path(".bench/incremental"))
    args = parser.parse_args()

    from tweetsense import columnar, layout
    from tweetsense.pipeline.batch import MANIFEST, batch, read_manifest
    from tweetsense.pipeline.load import load

    root = args.dir / str(args.tweets)
    print(f"generating {args.tweets:,} posts under {root} (once)", flush=True)
    generated.generate(root, args.tweets, args.per_window)
    history = -(-args.tweets // args.per_window)
    # Steps of earlier runs of this script are dropped: the history is as generated.
    for extra in range(history, history + 3):
        p = _pipeline(root, extra + 1)
        window = p.windows[-1]
        for key in (layout.staging_key(p.slug, window), layout.sentiment_key(p.slug, window)):
            columnar.delete(p.store, key)
        p.close()
    (root / "warehouse.duckdb").unlink(missing_ok=True)
    rng = random.Random(2)

    p = _pipeline(root, history)
    p.store.delete(layout.output_key(p.slug, MANIFEST))
    _, full_batch = _timed(batch, p)
    _, full_load = _timed(load, p)
    p.close()
    print(f"full batch of {args.tweets:,} posts ({history:,} windows): {full_batch:.2f} s; "
          f"load {full_load:.2f} s", flush=True)  # fmt: skip

    steps = []
    for i in range(2):
        p = _pipeline(root, history + i + 1)
        _add_window(p, history + i, args.per_window, rng)
        _, step_batch = _timed(batch, p)
        _, step_load = _timed(load, p)
        steps.append((step_batch, step_load))
        recomputed = (read_manifest(p) or {}).get("recomputed")
        print(f"step {i + 1}: +1 window, batch {step_batch:.2f} s (recomputed {recomputed} "
              f"of {len(p.windows):,} windows), load {step_load:.2f} s", flush=True)  # fmt: skip
        step_rows = _windows_rows(p)
        p.close()
    p = _pipeline(root, history + 2)
    _, idle_batch = _timed(batch, p)
    _, idle_load = _timed(load, p)
    print(f"nothing new: batch {idle_batch:.2f} s, load {idle_load:.2f} s", flush=True)
    p.store.delete(layout.output_key(p.slug, MANIFEST))
    _, baseline_batch = _timed(batch, p)
    _, baseline_load = _timed(load, p)
    same = _windows_rows(p) == step_rows
    p.close()
    step_batch = min(s[0] for s in steps)
    step_load = min(s[1] for s in steps)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"baseline (full recompute, same files, same run): batch {baseline_batch:.2f} s, "
          f"load {baseline_load:.2f} s")  # fmt: skip
    together = (step_batch + step_load) / (baseline_batch + baseline_load)
    print(f"one 15-minute step: batch {step_batch:.2f} s = {step_batch / baseline_batch:.3f}x, "
          f"load {step_load:.2f} s = {step_load / baseline_load:.3f}x, "
          f"together {together:.3f}x")  # fmt: skip
    print(f"outputs equal to the full recompute: {same}; peak RSS {peak:.0f} MB")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
