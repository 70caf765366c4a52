"""The batch stage on DuckDB, Spark local[2] and plain pandas: posts/s and peak memory.

    python benchmarks/batch_engines.py --tweets 1000000 10000000

Staging and sentiment files are generated directly (random scores, no VADER; 5% of posts
re-delivered in a later window, 10% of authors without metadata), once per size, under
.bench/batch. Each engine runs in a fresh process; its peak memory is the largest summed RSS of
that process tree (the JVM included), sampled every 0.1 s. posts/s counts staged posts over the
engine's run, session start excluded; DuckDB, measured in the same run, is the baseline of the
ratios, since this machine is shared and absolute numbers drift. Every engine's window table is
checked against DuckDB's. The engines read the columnar copies ingest and consume write beside
the JSON (made here by the same functions); the pandas job parses the JSON. The baseline line is
DuckDB aggregating the same posts, already in one Parquet file, into windows; the floor line is
DuckDB writing the posts' columns ordered by time, the one output that holds every post's text,
with nothing else computed.
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable

    import pandas as pd

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

    from tweetsense import columnar, layout
    from tweetsense.contracts import SentimentDoc, StagingDoc
    from tweetsense.timeutil import format_utc

    done = root / "generated.json"
    marker = {"n": n, "per_window": per_window, "columnar": 3}
    if done.exists() and json.loads(done.read_text()) == marker:
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
        # The columnar copy ingest writes beside each file, made by the same function.
        staged = StagingDoc(QUERY, window, "synthetic", pages)
        _write_copy(root / columnar.copy_key(staging_key), columnar.staging_table(staged))
        scores = []
        for p in posts:
            raw = [rng.random() for _ in range(4)]
            total = sum(raw)
            values = [r / total for r in raw]
            row = dict(zip(("positive", "negative", "neutral", "mixed"), values, strict=True))
            scores.append({"tweet_id": p["id"], "label": rng.choice(LABELS), **row})
        doc = {"schema": "tweetsense.sentiment/1", **meta, "analyzer": "random", "scores": scores}
        sentiment_key = layout.sentiment_key(slug, window)
        _write(root / sentiment_key, doc)
        scored = SentimentDoc(QUERY, window, "random", staging_key, "", scores)
        _write_copy(root / columnar.copy_key(sentiment_key), columnar.sentiment_table(scored))
    _one_parquet(root)
    done.write_text(json.dumps(marker))


def _write_copy(path: Path, table: Any) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")


def _one_parquet(root: Path) -> None:
    """The same posts, with their scores, in one Parquet file: what the baseline aggregates."""
    import duckdb

    con = duckdb.connect()
    copies = root / "columnar"
    con.execute(f"""
        COPY (
            SELECT p.id AS tweet_id, CAST(p.created_at AS TIMESTAMPTZ) AS created_at,
                   s.label, s.positive, s.negative, s.neutral, s.mixed
            FROM read_parquet('{copies}/staging/**/*.parquet') p
            JOIN read_parquet('{copies}/sentiment/**/*.parquet') s
              ON p.file_order = s.file_order AND p.id = s.tweet_id
            WHERE p.kind = 'post'
        ) TO '{root}/one.parquet' (FORMAT parquet, COMPRESSION zstd)
    """)
    con.close()


def one_parquet_job(root: Path) -> None:
    """The baseline: DuckDB aggregating the posts of one Parquet file into 15-minute windows,
    under the batch engine's memory cap."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": "512MB"})
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        COPY (
            SELECT epoch(created_at)::BIGINT // {FREQ} * {FREQ} AS window_epoch,
                   count(*) AS count_tweets, avg(positive), avg(negative), avg(neutral),
                   avg(mixed), avg((label = 'POSITIVE')::DOUBLE),
                   avg((label = 'NEGATIVE')::DOUBLE), avg((label = 'NEUTRAL')::DOUBLE),
                   avg((label = 'MIXED')::DOUBLE)
            FROM read_parquet('{root}/one.parquet') GROUP BY ALL ORDER BY ALL
        ) TO '{root}/one-windows.parquet' (FORMAT parquet)
    """)
    con.close()


def sorted_posts_job(root: Path) -> None:
    """The floor of the tweets output: DuckDB writing the staged posts' columns, ordered by
    time, to one Parquet file and one CSV file, under the batch engine's memory cap; no
    placement, scores, users or aggregates."""
    import duckdb

    con = duckdb.connect(
        str(root / "floor.duckdb"),
        config={"memory_limit": "512MB", "preserve_insertion_order": "false"},
    )
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"""
        COPY (
            SELECT id AS tweet_id, CAST(created_at AS TIMESTAMPTZ) AS created_at, text,
                   referenced_json, author_id, lang, conversation_id, post_type, like_count,
                   retweet_count, reply_count, quote_count, terms
            FROM read_parquet('{root}/columnar/staging/**/*.parquet')
            WHERE kind = 'post' ORDER BY created_at, tweet_id
        ) TO '{root}/floor.parquet' (FORMAT parquet, COMPRESSION zstd)
    """)
    con.execute(f"COPY (FROM '{root}/floor.parquet') TO '{root}/floor.csv' (HEADER)")
    con.close()
    for name in ("floor.duckdb", "floor.parquet", "floor.csv"):
        (root / name).unlink(missing_ok=True)


def _write(path: Path, doc: dict) -> None:
    import orjson

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(doc))


def _inputs(root: Path, n: int, per_window: int, *, copies: bool = True):
    """The engines read the columnar copies; the hand-written pandas job reads the JSON."""
    from tweetsense import columnar, layout
    from tweetsense.batch.base import BatchInputs

    slug = layout.query_slug(QUERY)
    windows = _windows(n, per_window)

    def path(key: str) -> str:
        return str(root / (columnar.copy_key(key) if copies else key))

    return BatchInputs(
        QUERY,
        slug,
        FREQ,
        [path(layout.staging_key(slug, w)) for w in windows],
        [path(layout.sentiment_key(slug, w)) for w in windows],
        [int(w.start.timestamp()) for w in windows],
    )


# A reader holds at most this many rows as Python lists (some 60 bytes a string over its text)
# before they become Arrow-backed columns; larger chunks would only hold more of them at once.
CHUNK_ROWS = 200_000


def _latest_rows(frame: pd.DataFrame, key: str) -> pd.Index:
    """Labels of the rows "latest wins" keeps: per key, the last one in the latest file."""
    # Only the key and the order columns are sorted, so the wide columns are copied once, when
    # the caller takes the winners, instead of once more by the sort.
    ranked = frame[[key, "file_order", "position"]].sort_values(["file_order", "position"])
    return ranked.drop_duplicates(key, keep="last").index.sort_values()


def _latest(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per ``key`` (see ``_latest_rows``), without the order columns."""
    winners = _latest_rows(frame, key)
    # Dropped before the take, so it does not copy them: under copy-on-write a drop copies nothing.
    return frame.drop(columns=["file_order", "position"]).loc[winners]


class _Chunks:
    """Rows gathered column by column, made into a DataFrame of compact dtypes every chunk."""

    def __init__(self, key: str, dtypes: dict[str, Any]) -> None:
        self.key, self.dtypes = key, dtypes
        self.lists: dict[str, list] = {name: [] for name in dtypes}
        self.frames: list[pd.DataFrame] = []

    def add(self, **columns: Iterable) -> None:
        for name, values in columns.items():
            self.lists[name].extend(values)
        if len(self.lists[self.key]) >= CHUNK_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pandas as pd

        columns = {}
        for name, dtype in self.dtypes.items():
            values, self.lists[name] = self.lists[name], []
            if isinstance(dtype, pd.DatetimeTZDtype):
                # An explicit format parses twice as fast as the dtype's own constructor.
                columns[name] = pd.to_datetime(values, utc=True, format="ISO8601")
            else:
                columns[name] = pd.array(values, dtype=dtype)
        frame = pd.DataFrame(columns)
        # Latest wins inside a chunk too: most re-deliveries are dropped before the concat.
        self.frames.append(frame.loc[_latest_rows(frame, self.key)])

    def frame(self) -> pd.DataFrame:
        import pandas as pd

        if self.lists[self.key] or not self.frames:
            self._flush()
        frames, self.frames = self.frames, []
        # Arrow-backed columns are concatenated as chunks, without copying their data.
        return pd.concat(frames, ignore_index=True)


def pandas_job(inputs, outputs, store) -> None:
    """The same job written by hand in pandas: the comparison a team without an engine makes.

    Files are read a chunk of rows at a time into Arrow-backed strings, numpy numbers and
    categoricals; the wide tweets table is copied once, when its rows are picked and ordered, and
    the scores are read only after that, so the two never take their peak memory together.
    """
    import orjson
    import pandas as pd
    import pyarrow as pa

    # pandas 3's default: without it, drop, reset_index and merge copy every numpy column.
    pd.set_option("mode.copy_on_write", True)
    string = pd.ArrowDtype(pa.string())
    ordering = {"file_order": "int64", "position": "int64"}
    tweets = _Chunks("tweet_id", {
        "tweet_id": string, "created_at": pd.DatetimeTZDtype(tz="UTC"), "text": string,
        "author_id": string, "lang": string, "conversation_id": string,
        "referenced_tweets": string, **ordering,
    })  # fmt: skip
    users = _Chunks("user_id", {
        "user_id": string, "username": string, "name": string,
        "verified": pd.ArrowDtype(pa.bool_()), "location": string, **ordering,
    })  # fmt: skip
    for uri in inputs.staging_uris:
        doc = orjson.loads(Path(uri).read_bytes())
        file_order = int(datetime.fromisoformat(doc["window_start"]).timestamp())
        for page_no, page in enumerate(doc.get("pages") or (), 1):
            first = page_no * 1_000_000 + 1
            data = page.get("data") or ()
            tweets.add(
                tweet_id=[t.get("id") for t in data],
                created_at=[t.get("created_at") for t in data],
                text=[t.get("text") for t in data],
                author_id=[t.get("author_id") for t in data],
                lang=[t.get("lang") for t in data],
                conversation_id=[t.get("conversation_id") for t in data],
                referenced_tweets=[
                    orjson.dumps(r).decode() if (r := t.get("referenced_tweets")) else None
                    for t in data
                ],
                file_order=[file_order] * len(data),
                position=range(first, first + len(data)),
            )
            found = (page.get("includes") or {}).get("users") or ()
            users.add(
                user_id=[u.get("id") for u in found],
                username=[u.get("username") for u in found],
                name=[u.get("name") for u in found],
                verified=[u.get("verified") for u in found],
                location=[u.get("location") for u in found],
                file_order=[file_order] * len(found),
                position=range(first, first + len(found)),
            )

    t = tweets.frame()
    freq = inputs.freq_seconds
    t["window_epoch"] = t["created_at"].astype("int64") // 10**9 // freq * freq
    keep = t.index.isin(_latest_rows(t, "tweet_id")) & t["window_epoch"].isin(inputs.window_starts)
    # Rows are picked and ordered on two narrow columns, then the wide table is copied once; the
    # merges below keep the left order, so the output needs no sort of its own. A sort on
    # tweet_id and then a stable one on created_at order as one sort on both, at a third of
    # its memory.
    picked = t.loc[keep, ["created_at", "tweet_id"]]
    order = picked.sort_values("tweet_id").sort_values("created_at", kind="stable").index
    del keep, picked
    # Column by column, each one let go as soon as its copy exists: never two whole tables.
    t = t.drop(columns=["file_order", "position"])
    t = pd.DataFrame({name: t.pop(name).take(order).array for name in list(t.columns)})
    del order

    scores = _Chunks("tweet_id", {
        "tweet_id": string, "label": string, "positive": "float64", "negative": "float64",
        "neutral": "float64", "mixed": "float64", "analyzer": string, **ordering,
    })  # fmt: skip
    for uri in inputs.sentiment_uris:
        doc = orjson.loads(Path(uri).read_bytes())
        found = doc["scores"]
        scores.add(
            tweet_id=[sc["tweet_id"] for sc in found],
            label=[sc["label"] for sc in found],
            **{x: [sc[x] for sc in found] for x in ("positive", "negative", "neutral", "mixed")},
            analyzer=[doc["analyzer"]] * len(found),
            file_order=[int(datetime.fromisoformat(doc["window_start"]).timestamp())] * len(found),
            position=range(1, len(found) + 1),
        )
    s = _latest(scores.frame().astype({"label": "category", "analyzer": "category"}), "tweet_id")
    # Merging on string keys costs several times the keys' own size; the scores go first, while
    # the user columns are not there yet to add to the peak.
    rows = t.merge(s, how="inner", on="tweet_id")
    del t, s
    u = _latest(users.frame(), "user_id").rename(columns={"user_id": "author_id"})
    rows = rows.merge(u, how="left", on="author_id")
    del u
    rows["user_id"] = rows["author_id"]
    rows["time_window"] = pd.to_datetime(rows["window_epoch"], unit="s", utc=True)
    rows["query"] = inputs.query
    agg = rows.groupby("window_epoch").agg(
        count_tweets=("tweet_id", "size"),
        avg_positive=("positive", "mean"),
        avg_negative=("negative", "mean"),
        avg_neutral=("neutral", "mean"),
        avg_mixed=("mixed", "mean"),
    )
    for label in LABELS:
        # Grouping one boolean at a time spares the wide table four float columns.
        is_label = rows["label"] == label
        agg[f"perc_tweet_{label.lower()}"] = is_label.groupby(rows["window_epoch"]).mean()
    spine = sorted(set(inputs.window_starts))
    agg = agg.reindex(spine)
    agg["count_tweets"] = agg["count_tweets"].fillna(0).astype("int64")
    for label in LABELS:
        agg[f"perc_tweet_{label.lower()}"] = agg[f"perc_tweet_{label.lower()}"].fillna(0.0)
    agg.insert(0, "time_window", pd.to_datetime(agg.index, unit="s", utc=True))
    agg.insert(0, "query", inputs.query)
    out_windows = agg.reset_index(drop=True)
    # Plain strings in the file, as the other engines write them, not dictionary columns.
    for name in ("label", "analyzer"):
        rows[name] = rows[name].astype(string)
    columns = [
        "query", "tweet_id", "created_at", "time_window", "text", "referenced_tweets",
        "user_id", "username", "name", "verified", "location", "lang", "conversation_id",
        "label", "positive", "negative", "neutral", "mixed", "analyzer",
    ]  # fmt: skip
    out_tweets = rows[columns]
    del rows
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
    inputs = _inputs(root, n, per_window, copies=engine != "pandas")
    outputs = outputs_for(inputs.slug)
    started = time.perf_counter()
    if engine in ("one-parquet", "sorted-posts"):
        (one_parquet_job if engine == "one-parquet" else sorted_posts_job)(root)
        result = {"seconds": time.perf_counter() - started, "tweets": 0, "windows": []}
        (root / f"result-{engine}.json").write_text(json.dumps(result))
        return
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
        if base:
            one = measure("one-parquet", root, n, args.per_window)
            print(
                f"# baseline: DuckDB aggregates the same {n:,} posts from one Parquet file in "
                f"{one['seconds']:.1f} s; the duckdb engine takes "
                f"{base['seconds'] / one['seconds']:.1f}x that",
                flush=True,
            )
            floor = measure("sorted-posts", root, n, args.per_window)
            print(
                f"# floor: DuckDB writes the same posts' columns, ordered by time, to one "
                f"Parquet and one CSV file in {floor['seconds']:.1f} s "
                f"(peak {floor['peak_mb']:.0f} MB); the duckdb engine takes "
                f"{base['seconds'] / floor['seconds']:.1f}x that",
                flush=True,
            )


if __name__ == "__main__":
    main()
