"""Crash/resume harness: SIGKILL the pipeline at named points, rerun, compare with a clean run.

Each kill is a ``(point, n)`` pair handed to the product through ``TWEETSENSE_FAULT_KILL_AT``
(see ``tweetsense.faults``): the n-th time the process reaches the point it kills itself. A
clean run with ``TWEETSENSE_FAULT_TRACE`` first counts how often each point is reached, so every
planned kill lands, and a seed picks n. Used by ``benchmarks/crash_resume.py`` (every point) and
by ``tests/reliability/test_crash_resume.py`` (a handful).
"""

from __future__ import annotations

import csv
import math
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import yaml

from tweetsense.faults import KILL_ENV, TRACE_ENV

CLI = [sys.executable, "-m", "tweetsense.cli.app"]
RUN_TIMEOUT = 300

# Which stage each point belongs to (store points are named after the folder written).
STAGE_OF = {
    "store.put.staging": "ingest",
    # Columnar copies: written by ingest (staging) and consume (sentiment); the first is ingest's.
    "store.put.columnar": "ingest",
    "ingest.staged": "ingest",
    "ingest.publish.before": "ingest",
    "stream.publish.uncommitted": "ingest",
    "ingest.publish.after": "ingest",
    "store.put.manifests": "ingest",
    "consume.scored": "consume",
    "store.put.sentiment": "consume",
    "consume.commit.before": "consume",
    "consume.commit.after": "consume",
    "batch.engine.before": "batch",
    "store.writing.outputs": "batch",
    "batch.manifest.before": "batch",
    "store.put.outputs": "batch",
    "load.deleted": "load",
    "load.uncommitted": "load",
    "load.committed": "load",
}


def config(query: str = "electric vehicles", hours: int = 6, per_window: int = 30) -> dict:
    return {
        "search": {
            "query": query,
            "start_time": "2024-03-01T00:00:00Z",
            "end_time": f"2024-03-01T{hours:02d}:00:00Z",
            "freq": "15min",
            "max_per_window": per_window,
        },
        "source": {"type": "synthetic", "seed": 11, "duplicate_rate": 0.05},
        "sentiment": {"type": "fast", "workers": 1},
    }


@dataclass
class Workdir:
    root: Path
    cfg: dict[str, Any] = field(default_factory=config)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_path = self.root / "tweetsense.yaml"
        self.config_path.write_text(yaml.safe_dump(self.cfg), encoding="utf-8")

    def run(self, data: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        clean_env = {k: v for k, v in os.environ.items() if k not in (KILL_ENV, TRACE_ENV)}
        clean_env = {k: v for k, v in clean_env.items() if not k.startswith("TWEETSENSE_")}
        args = ["run", "--config", str(self.config_path), "--data-dir", str(self.root / data)]
        return subprocess.run(
            [*CLI, *args],
            cwd=self.root,
            env={**clean_env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
        )


def traced_clean_run(work: Workdir, data: str = "clean") -> Counter[str]:
    """An uninterrupted run; returns how often it reached each point."""
    trace = work.root / "trace.txt"
    trace.unlink(missing_ok=True)
    done = work.run(data, {TRACE_ENV: str(trace)})
    if done.returncode != 0:
        raise RuntimeError(f"clean run failed: {done.stderr.strip()}")
    return Counter(trace.read_text(encoding="utf-8").split())


def plan(counts: Counter[str], seed: int, per_point: int = 3) -> list[tuple[str, int]]:
    """Up to ``per_point`` distinct seeded n for every point reached, always including 1."""
    rng = random.Random(seed)
    kills = []
    for name in STAGE_OF:
        reached = counts.get(name, 0)
        if not reached:
            raise RuntimeError(f"point {name} was never reached by the clean run")
        picks = {1} if reached < 3 else set()
        others = list(range(1, reached + 1))
        rng.shuffle(others)
        for n in others:
            if len(picks) >= min(per_point, reached):
                break
            picks.add(n)
        kills.extend((name, n) for n in sorted(picks))
    return kills


@dataclass
class Outcome:
    point: str
    n: int
    killed: bool
    reruns: int
    differences: list[str]
    duplicates: int


def crash_and_resume(
    work: Workdir, point: str, n: int, clean: dict, max_reruns: int = 3
) -> Outcome:
    data = f"crash-{point}-{n}"
    first = work.run(data, {KILL_ENV: f"{point}:{n}"})
    killed = first.returncode == -signal.SIGKILL
    reruns = 0
    while True:
        reruns += 1
        done = work.run(data)
        if done.returncode == 0 or reruns >= max_reruns:
            break
    if done.returncode != 0:
        return Outcome(point, n, killed, reruns, [f"rerun failed: {done.stderr.strip()}"], 0)
    snap = snapshot(work.root / data)
    return Outcome(point, n, killed, reruns, compare(clean, snap), duplicates(work.root / data))


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def snapshot(data_dir: Path) -> dict[str, list[tuple]]:
    """Every warehouse row and every output row, sorted by key; CSV files as text."""
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        snap = {
            "tweet": _rows(
                con,
                "SELECT * EXCLUDE (created_at, time_window), "
                "epoch_us(created_at), epoch_us(time_window) "
                "FROM tweet ORDER BY query, tweet_id",
            ),
            "sentiment": _rows(
                con,
                "SELECT * EXCLUDE (time_window), epoch_us(time_window) "
                "FROM sentiment ORDER BY query, time_window",
            ),
        }
    finally:
        con.close()
    outputs = next((data_dir / "outputs").iterdir())
    mem = duckdb.connect()
    try:
        for name in ("tweets", "windows"):
            path = str(outputs / f"{name}.parquet").replace("'", "''")
            snap[f"{name}.parquet"] = _rows(
                mem, f"SELECT * FROM read_parquet('{path}') ORDER BY ALL"
            )
    finally:
        mem.close()
    for name in ("tweets.csv", "windows.csv"):
        with (outputs / name).open(encoding="utf-8", newline="") as fh:
            header, *rows = csv.reader(fh)
        # Averages may differ in the last bit between runs (parallel sums): compare as floats.
        snap[name] = [tuple(header), *sorted(tuple(_cell(c) for c in row) for row in rows)]
    return snap


_FLOAT = re.compile(r"-?\d+\.\d+(e-?\d+)?")


def _cell(text: str) -> str | float:
    return float(text) if _FLOAT.fullmatch(text) else text


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12) or (x != x and y != y)
    return x == y


def compare(a: dict[str, list[tuple]], b: dict[str, list[tuple]]) -> list[str]:
    """Row-for-row differences, at most a few per table."""
    diffs = []
    for table, rows in a.items():
        other = b.get(table, [])
        if len(rows) != len(other):
            diffs.append(f"{table}: {len(rows)} rows vs {len(other)}")
            continue
        bad = [
            i
            for i, (r, s) in enumerate(zip(rows, other, strict=True))
            if len(r) != len(s) or not all(_same(x, y) for x, y in zip(r, s, strict=True))
        ]
        if bad:
            diffs.append(f"{table}: {len(bad)} rows differ (first at {bad[0]})")
    return diffs


def duplicates(data_dir: Path) -> int:
    """Rows stored more than once under their key, in the warehouse and the outputs."""
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True)
    try:
        found = sum(
            int(con.execute(sql).fetchone()[0])  # type: ignore[index]
            for sql in (
                "SELECT count(*) - count(DISTINCT (query, tweet_id)) FROM tweet",
                "SELECT count(*) - count(DISTINCT (query, time_window)) FROM sentiment",
            )
        )
    finally:
        con.close()
    outputs = next((data_dir / "outputs").iterdir())
    path = str(outputs / "tweets.parquet").replace("'", "''")
    mem = duckdb.connect()
    try:
        row = mem.execute(
            f"SELECT count(*) - count(DISTINCT tweet_id) FROM read_parquet('{path}')"
        ).fetchone()
    finally:
        mem.close()
    return found + int(row[0]) if row else found
