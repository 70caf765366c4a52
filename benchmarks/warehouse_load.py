"""Loading N tweets into PostgreSQL: tweetsense's COPY loader against a naive executemany INSERT.

    python benchmarks/warehouse_load.py --tweets 1000000 --naive-tweets 100000

Starts a throwaway PostgreSQL server (as the tests do) unless --dsn names one. Each phase runs
in a fresh process on a fresh database, so its peak RSS is its own:

- copy: ``PostgresWarehouse.load`` of the Parquet outputs into empty tables (COPY + upsert),
- reload: the same load again: every row hits the upsert's conflict path and is found unchanged,
- naive: ``cursor.executemany(INSERT ...)`` of the first --naive-tweets rows, already converted to
  Python tuples (the conversion is not timed, which favours it); the naive run is kept smaller
  because it is much slower.

Both figures come from the same run on the same server, so their ratio is what to compare.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2024, 3, 1, tzinfo=UTC)
PER_WINDOW = 100


def write_outputs(n: int, folder: Path) -> tuple[str, str]:
    """Parquet outputs shaped like the batch stage's: n tweets, 100 per 15-minute window."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from tweetsense.warehouse.dialects import arrow_schema
    from tweetsense.warehouse.schema import SENTIMENT, TWEET

    tweets_path, windows_path = folder / "tweets.parquet", folder / "windows.parquet"
    labels = pa.array(["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"])
    with pq.ParquetWriter(tweets_path, arrow_schema(TWEET)) as writer:
        for lo in range(0, n, 100_000):
            ids = pa.array(range(lo, min(n, lo + 100_000)), pa.int64())
            k = len(ids)
            created = pc.add(
                pa.scalar(START, pa.timestamp("us", tz="UTC")),
                pc.multiply(ids, pa.scalar(9_000_000)).cast(pa.duration("us")),
            )
            window = pc.add(
                pa.scalar(START, pa.timestamp("us", tz="UTC")),
                pc.multiply(pc.divide(ids, PER_WINDOW), 900_000_000).cast(pa.duration("us")),
            )
            text = pc.binary_join_element_wise(
                "Electric vehicles are getting better every year, post number ",
                ids.cast(pa.string()),
                " #EV",
                "",
            )
            score = pc.divide(pc.bit_wise_and(ids, 1023).cast(pa.float64()), 1023.0)
            cols = {
                "query": pa.repeat("electric vehicles", k),
                "tweet_id": ids.cast(pa.string()),
                "created_at": created,
                "time_window": window,
                "text": text,
                "referenced_tweets": pa.nulls(k, pa.string()),
                "user_id": pc.bit_wise_and(ids, 4095).cast(pa.string()),
                "username": pc.binary_join_element_wise(
                    "user", pc.bit_wise_and(ids, 4095).cast(pa.string()), ""
                ),
                "name": pa.repeat("A Person", k),
                "verified": pc.equal(pc.bit_wise_and(ids, 7), 0),
                "location": pa.repeat("Berlin", k),
                "lang": pa.repeat("en", k),
                "conversation_id": ids.cast(pa.string()),
                "label": pc.take(labels, pc.bit_wise_and(ids, 3)),
                "positive": score,
                "negative": pc.subtract(1.0, score),
                "neutral": pa.repeat(0.0, k),
                "mixed": pa.repeat(0.0, k),
                "analyzer": pa.repeat("vader", k),
            }
            writer.write_table(pa.table(cols, schema=arrow_schema(TWEET)))
    windows = -(-n // PER_WINDOW)
    wcols = {c: pa.repeat(0.25, windows) for c in SENTIMENT.column_names}
    wcols["query"] = pa.repeat("electric vehicles", windows)
    wcols["time_window"] = pa.array(
        [START + timedelta(minutes=15 * i) for i in range(windows)], pa.timestamp("us", tz="UTC")
    )
    wcols["count_tweets"] = pa.repeat(PER_WINDOW, windows).cast(pa.int64())
    pq.write_table(pa.table(wcols, schema=arrow_schema(SENTIMENT)), windows_path)
    return str(tweets_path), str(windows_path)


def _warehouse(dsn: str):
    from tweetsense.config import BackendSection, load_config
    from tweetsense.registry import Context, create

    ctx = Context(load_config(None, demo=True, environ={}))
    return create("warehouse", ctx, BackendSection(type="postgres", dsn=dsn))


def phase(name: str, dsn: str, tweets: str, windows: str, limit: int) -> dict:
    if name in ("copy", "reload"):
        w = _warehouse(dsn)
        if name == "reload":
            w.load("electric vehicles", {"tweet": tweets, "sentiment": windows})
        started = time.perf_counter()
        result = w.load("electric vehicles", {"tweet": tweets, "sentiment": windows})
        seconds = time.perf_counter() - started
        rows = result.tweets
    else:
        import psycopg
        import pyarrow.parquet as pq

        from tweetsense.warehouse.dialects import POSTGRES, columns_sql
        from tweetsense.warehouse.schema import TWEET

        table = pq.read_table(tweets).slice(0, limit)
        data = list(zip(*(table.column(c).to_pylist() for c in TWEET.column_names), strict=True))
        marks = ", ".join(["%s"] * len(TWEET.columns))
        with psycopg.connect(dsn) as con:
            for statement in POSTGRES.ddl():
                con.execute(statement)
            con.commit()
            started = time.perf_counter()
            with con.cursor() as cur:
                cur.executemany(
                    f'INSERT INTO "tweet" ({columns_sql(TWEET)}) VALUES ({marks})', data
                )
            con.commit()
            seconds = time.perf_counter() - started
        rows = len(data)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"phase": name, "rows": rows, "seconds": seconds, "peak_rss_mb": rss}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tweets", type=int, default=1_000_000)
    ap.add_argument("--naive-tweets", type=int, default=100_000)
    ap.add_argument("--dsn", help="an empty PostgreSQL database to use (default: a throwaway one)")
    ap.add_argument("--phase", help=argparse.SUPPRESS)
    ap.add_argument("--files", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(phase(args.phase, args.dsn, *args.files, args.naive_tweets)))
        return

    sys.path.insert(0, str(ROOT))
    from tests.servers.postgres import running_postgres

    with tempfile.TemporaryDirectory(prefix="tweetsense-bench-") as tmp:
        started = time.perf_counter()
        files = write_outputs(args.tweets, Path(tmp))
        print(f"wrote {args.tweets:,} tweets as Parquet in {time.perf_counter() - started:.1f}s")
        with running_postgres() as server:
            import psycopg

            for name in ("copy", "reload", "naive"):
                if args.dsn:
                    dsn = args.dsn
                    with psycopg.connect(dsn, autocommit=True) as con:
                        con.execute(
                            'DROP TABLE IF EXISTS "tweet", "sentiment", "tweetsense_schema"'
                        )
                else:
                    dsn = server.dsn(server.create_database())
                out = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--phase",
                        name,
                        "--dsn",
                        dsn,
                        "--files",
                        *files,
                        "--naive-tweets",
                        str(args.naive_tweets),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                r = json.loads(out.strip().splitlines()[-1])
                r["rate"] = r["rows"] / r["seconds"]
                print(
                    f"{r['phase']:>7}: {r['rows']:>9,} rows in {r['seconds']:6.2f}s = "
                    f"{r['rate']:>9,.0f} rows/s, peak RSS {r['peak_rss_mb']:.0f} MB"
                )
                if name == "copy":
                    copy_rate = r["rate"]
        print(f"COPY loader / naive executemany: {copy_rate / r['rate']:.1f}x rows/s")


if __name__ == "__main__":
    main()
