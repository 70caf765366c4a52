"""The batch stage on DuckDB, Spark local[2] and plain pandas: posts/s and peak memory.

    python benchmarks/batch_engines.py --tweets 1000000 10000000

Staging and sentiment files are generated directly (random scores, no VADER; 5% of posts
re-delivered in a later window, 10% of authors without metadata), once per size, under
.bench/batch. Each engine runs in a fresh process; its peak memory is the largest summed RSS of
that process tree (the JVM included), sampled every 0.1 s. posts/s counts staged posts over the
engine's run, session start excluded; DuckDB, measured in the same run, is the baseline of the
ratios, since this machine is shared and absolute numbers drift. Every engine's window table is
checked against DuckDB's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2024, 3, 1, tzinfo=UTC)
QUERY = "electric vehicles"
LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
FREQ = 900


def _windows(n: int, per_window: int) -> list:
    from tweetsense.timeutil import Window

    count = -(-n // per_window)
    return [
        Window(START + timedelta(seconds=FREQ * i), START + timedelta(seconds=FREQ * (i + 1)))
        for i in range(count)
    ]


def generate(root: Path, n: int, per_window: int) -> None:

    from tweetsense import layout
    from tweetsense.timeutil import format_utc

    done = root / "generated.json"
    if done.exists() and json.loads(done.read_text()) == {"n": n, "per_window": per_window}:
        return
    shutil.rmtree(root, ignore_errors=True)
    rng = random.Random(1)
    slug = layout.query_slug(QUERY)
    made = 0
    previous: list[dict] = []
    for window in _windows(n, per_window):
        k = min(per_window, n - made)
        posts = []
        for j in range(k):
            if previous and rng.random() < 0.05:
                posts.append(rng.choice(previous))  # re-delivered from an earlier window
                continue
            at = window.start + timedelta(seconds=rng.random() * FREQ)
            post = {
                "id": f"{window.start.timestamp():.0f}{j:06d}",
                "text": f'post {j} about electric vehicles, "quoted" {rng.random():.6f}',
                "created_at": format_utc(at),
                "author_id": f"u{rng.randint(0, 50_000)}",
                "lang": "en",
                "conversation_id": f"c{j}",
            }
            if j % 7 == 0:
                post["referenced_tweets"] = [{"type": "quoted", "id": str(j)}]
            posts.append(post)
        made += k
        previous = posts[:200]
        authors = sorted({p["author_id"] for p in posts})
        users = [
            {"id": a, "username": f"name{a}", "name": f"Name {a}", "verified": a.endswith("7")}
            for a in authors
            if not a.endswith("3")  # some authors never come with metadata
        ]
        pages = [
            {
                "data": posts[i : i + 500],
                "includes": {"users": users if i == 0 else []},
                "meta": {"result_count": len(posts[i : i + 500])},
            }
            for i in range(0, len(posts), 500)
        ]
        staging_key = layout.staging_key(slug, window)
        meta = {
            "query": QUERY,
            "window_start": format_utc(window.start),
            "window_end": format_utc(window.end),
        }
        _write(root / staging_key, {"schema": "tweetsense.staging/1", **meta, "pages": pages})
        scores = []
        for p in posts:
            raw = [rng.random() for _ in range(4)]
            total = sum(raw)
            values = [r / total for r in raw]
            row = dict(zip(("positive", "negative", "neutral", "mixed"), values, strict=True))
            scores.append({"tweet_id": p["id"], "label": rng.choice(LABELS), **row})
        doc = {"schema": "tweetsense.sentiment/1", **meta, "analyzer": "random", "scores": scores}
        _write(root / layout.sentiment_key(slug, window), doc)
    done.write_text(json.dumps({"n": n, "per_window": per_window}))


def _write(path: Path, doc: dict) -> None:
    import orjson

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc))


def _inputs(root: Path, n: int, per_window: int):
    from tweetsense import layout
    from tweetsense.batch.base import BatchInputs

    slug = layout.query_slug(QUERY)
    windows = _windows(n, per_window)
    return BatchInputs(
        QUERY,
        slug,
        FREQ,
        [str(root / layout.staging_key(slug, w)) for w in windows],
        [str(root / layout.sentiment_key(slug, w)) for w in windows],
        [int(w.start.timestamp()) for w in windows],
    )


def pandas_job(inputs, outputs, store) -> None:
    """The same job written by hand in pandas: the comparison a team without an engine makes."""
    import orjson
    import pandas as pd

    tweets, users, scores = [], [], []
    for uri in inputs.staging_uris:
        doc = orjson.loads(Path(uri).read_bytes())
        order = int(datetime.fromisoformat(doc["window_start"]).timestamp())
        for page_no, page in enumerate(doc.get("pages") or (), 1):
            for i, t in enumerate(page.get("data") or (), 1):
                refs = t.get("referenced_tweets")
                tweets.append((
                    t["id"], t["created_at"], t.get("text"), t.get("author_id"), t.get("lang"),
                    t.get("conversation_id"), orjson.dumps(refs).decode() if refs else None,
                    order, page_no * 1_000_000 + i,
                ))  # fmt: skip
            for i, u in enumerate((page.get("includes") or {}).get("users") or (), 1):
                users.append((
                    u["id"], u.get("username"), u.get("name"), u.get("verified"),
                    u.get("location"), order, page_no * 1_000_000 + i,
                ))  # fmt: skip
    analyzer = ""
    for uri in inputs.sentiment_uris:
        doc = orjson.loads(Path(uri).read_bytes())
        order = int(datetime.fromisoformat(doc["window_start"]).timestamp())
        analyzer = doc["analyzer"]
        for i, sc in enumerate(doc["scores"], 1):
            scores.append((
                sc["tweet_id"], sc["label"], sc["positive"], sc["negative"], sc["neutral"],
                sc["mixed"], analyzer, order, i,
            ))  # fmt: skip
    t = pd.DataFrame(tweets, columns=[
        "tweet_id", "created_at", "text", "author_id", "lang", "conversation_id",
        "referenced_tweets", "file_order", "position",
    ])  # fmt: skip
    u = pd.DataFrame(users, columns=[
        "user_id", "username", "name", "verified", "location", "file_order", "position",
    ])  # fmt: skip
    s = pd.DataFrame(scores, columns=[
        "tweet_id", "label", "positive", "negative", "neutral", "mixed", "analyzer",
        "file_order", "position",
    ])  # fmt: skip
    del tweets, users, scores

    def latest(df: pd.DataFrame, key: str) -> pd.DataFrame:
        df = df.sort_values(["file_order", "position"]).drop_duplicates(key, keep="last")
        return df.drop(columns=["file_order", "position"])

    t, u, s = latest(t, "tweet_id"), latest(u, "user_id"), latest(s, "tweet_id")
    t["created_at"] = pd.to_datetime(t["created_at"], utc=True, format="ISO8601")
    rows = t.merge(u, how="left", left_on="author_id", right_on="user_id")
    rows = rows.merge(s, how="inner", on="tweet_id")
    rows["user_id"] = rows["author_id"]
    epoch = rows["created_at"].astype("int64") // 10**9
    rows["window_epoch"] = epoch // inputs.freq_seconds * inputs.freq_seconds
    rows = rows[rows["window_epoch"].isin(set(inputs.window_starts))]
    rows["time_window"] = pd.to_datetime(rows["window_epoch"], unit="s", utc=True)
    rows["query"] = inputs.query
    columns = [
        "query", "tweet_id", "created_at", "time_window", "text", "referenced_tweets",
        "user_id", "username", "name", "verified", "location", "lang", "conversation_id",
        "label", "positive", "negative", "neutral", "mixed", "analyzer",
    ]  # fmt: skip
    out_tweets = rows.sort_values(["created_at", "tweet_id"])[columns]
    for label in LABELS:
        rows[f"perc_tweet_{label.lower()}"] = (rows["label"] == label).astype("float64")
    agg = rows.groupby("window_epoch").agg(
        count_tweets=("tweet_id", "size"),
        avg_positive=("positive", "mean"),
        avg_negative=("negative", "mean"),
        avg_neutral=("neutral", "mean"),
        avg_mixed=("mixed", "mean"),
        **{f"perc_tweet_{x.lower()}": (f"perc_tweet_{x.lower()}", "mean") for x in LABELS},
    )
    spine = sorted(set(inputs.window_starts))
    agg = agg.reindex(spine)
    agg["count_tweets"] = agg["count_tweets"].fillna(0).astype("int64")
    for label in LABELS:
        agg[f"perc_tweet_{label.lower()}"] = agg[f"perc_tweet_{label.lower()}"].fillna(0.0)
    agg.insert(0, "time_window", pd.to_datetime(agg.index, unit="s", utc=True))
    agg.insert(0, "query", inputs.query)
    out_windows = agg.reset_index(drop=True)
    for frame, parquet_key, csv_key in (
        (out_tweets, outputs.tweets_parquet, outputs.tweets_csv),
        (out_windows, outputs.windows_parquet, outputs.windows_csv),
    ):
        with store.writing(parquet_key) as path:
            frame.to_parquet(path, index=False, compression="zstd")
        with store.writing(csv_key) as path:
            frame.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S.%fZ")


def child(engine: str, root: Path, n: int, per_window: int) -> None:
    """One engine's run, in its own process; prints its figures as JSON."""
    import pyarrow.parquet as pq

    from tweetsense.config import BackendSection, load_config
    from tweetsense.pipeline.batch import outputs_for
    from tweetsense.registry import Context, create

    out = root / f"out-{engine}"
    shutil.rmtree(out, ignore_errors=True)
    context = Context(load_config(None, demo=True, data_dir=out, environ={}))
    store = create("storage", context, BackendSection(type="local"))
    inputs = _inputs(root, n, per_window)
    outputs = outputs_for(inputs.slug)
    started = time.perf_counter()
    if engine == "pandas":
        pandas_job(inputs, outputs, store)
    else:
        options = {"master": "local[2]", "driver_memory": "4g"} if engine == "spark" else {}
        backend = create("batch", context, BackendSection(type=engine, **options))
        if engine == "spark":
            backend.session()  # the JVM's start is not the engine's work
            started = time.perf_counter()
        backend.run(inputs, outputs, store)
    seconds = time.perf_counter() - started
    windows = pq.read_table(store.uri(outputs.windows_parquet)).to_pylist()
    tweets = pq.ParquetFile(store.uri(outputs.tweets_parquet)).metadata.num_rows
    result = {"seconds": seconds, "tweets": tweets, "windows": windows}
    (root / f"result-{engine}.json").write_text(json.dumps(result, default=str))


def _tree_rss_mb(pid: int) -> float:
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        kids = [p for p, pp in parents.items() if pp == parent and p not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return sum(rss.get(p, 0) for p in tree) / 2**20


def measure(engine: str, root: Path, n: int, per_window: int) -> dict:
    cmd = [sys.executable, __file__, "--child", engine, "--dir", str(root)]
    cmd += ["--tweets", str(n), "--per-window", str(per_window)]
    result = root / f"result-{engine}.json"
    result.unlink(missing_ok=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_mb(proc.pid))
        time.sleep(0.1)
    if proc.returncode:
        return {"error": f"exit {proc.returncode}", "peak_mb": peak}
    return {**json.loads(result.read_text()), "peak_mb": peak}


def _same_windows(a: list[dict], b: list[dict]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        for key, value in x.items():
            other = y[key]
            if isinstance(value, float) and isinstance(other, float):
                if abs(value - other) > 1e-9:
                    return False
            elif value != other:
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tweets", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--per-window", type=int, default=5000)
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark", "pandas"])
    parser.add_argument("--dir", type=Path, default=Path(".bench/batch"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dir, args.tweets[0], args.per_window)
        return
    print(f"{'posts':>11} {'engine':>7} {'seconds':>8} {'posts/s':>10} {'peak MB':>8} "
          f"{'x duckdb speed':>14} {'x duckdb mem':>12}  same as duckdb")  # fmt: skip
    for n in args.tweets:
        root = args.dir / str(n)
        started = time.perf_counter()
        generate(root, n, args.per_window)
        print(f"# {n:,} posts staged in {time.perf_counter() - started:.0f} s under {root}")
        base: dict | None = None
        for engine in args.engines:
            r = measure(engine, root, n, args.per_window)
            if "error" in r:
                print(f"{n:>11,} {engine:>7} failed ({r['error']}, peak {r['peak_mb']:.0f} MB)")
                continue
            rate = n / r["seconds"]
            if engine == "duckdb":
                base = {**r, "rate": rate}
            speed = f"{rate / base['rate']:.2f}" if base else "-"
            mem = f"{r['peak_mb'] / base['peak_mb']:.2f}" if base else "-"
            same = _same_windows(base["windows"], r["windows"]) if base else "-"
            same = same and r["tweets"] == base["tweets"] if base else same
            print(
                f"{n:>11,} {engine:>7} {r['seconds']:>8.1f} {rate:>10,.0f} {r['peak_mb']:>8.0f} "
                f"{speed:>14} {mem:>12}  {same}",
                flush=True,
            )


if __name__ == "__main__":
    main()
