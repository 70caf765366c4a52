"""`run --follow` on a fake clock: a backfill, then a step per window; killed at a random point
and restarted, it ends with the warehouse of a clean run over the same windows."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import orjson
import pytest

from tweetsense import clock
from tweetsense.config import load_config
from tweetsense.errors import ConfigError
from tweetsense.faults import KILL_ENV, TRACE_ENV
from tweetsense.pipeline import Pipeline, run_all
from tweetsense.pipeline.follow import FollowState
from tweetsense.timeutil import parse_utc

CLI = [sys.executable, "-X", "faulthandler", "-m", "tweetsense.cli.app"]
START = "2024-03-01T00:00:00Z"
NOW = "2024-03-01T01:00:00Z"  # the backfill covers 00:00-00:45: 01:00 is not settled yet
UNTIL = "2024-03-01T02:00:00Z"  # then five live steps, one per window
TABLES = ("tweet", "sentiment", "tweet_score", "sentiment_by_analyzer", "driver",
          "analyzer_agreement", "sentiment_spike")  # fmt: skip
CONFIG = f"""
search:
  query: electric vehicles
  start_time: {START}
  end_time: now
  freq: 15min
  settle: 2min
  max_per_window: 30
source:
  type: synthetic
alerts:
  rules:
    - name: mood-swing
      kind: net_change
      threshold: 0.05
    - name: gloom
      kind: negative_share
      threshold: 0.2
"""


def warehouse(data: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    try:
        return {
            t: sorted(
                (
                    tuple(round(v, 9) if isinstance(v, float) else v for v in row)
                    for row in con.execute(f'FROM "{t}"').fetchall()
                ),
                key=repr,
            )
            for t in TABLES
        }
    finally:
        con.close()


def follow(
    tmp_path: Path, data: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "tweetsense.yaml"
    cfg.write_text(CONFIG)
    logs = data.parent / f"{data.name}-{len(list(data.parent.glob(data.name + '-*.out')))}"
    with open(f"{logs}.out", "w") as out_file, open(f"{logs}.err", "w") as err_file:
        proc = subprocess.Popen(
            [*CLI, "run", "--config", str(cfg), "--data-dir", str(data), "--follow", "--until",
             UNTIL],
            env={**os.environ, clock.FAKE_NOW_ENV: NOW, **(env or {})},
            stdout=out_file,
            stderr=err_file,
            text=True,
            start_new_session=True,
        )  # fmt: skip
        try:
            proc.wait(timeout=200)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)  # faulthandler prints where each thread waits
            proc.wait()
        finally:
            # Nothing of it may outlive it: its scoring workers end when they see it gone.
            deadline = time.monotonic() + 10
            while _group_alive(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            leftover = _group_alive(proc.pid)
            if leftover:
                os.killpg(proc.pid, signal.SIGKILL)
    out, errors = Path(f"{logs}.out").read_text(), Path(f"{logs}.err").read_text()
    assert proc.returncode != -signal.SIGABRT, f"run --follow with {env} hung: {errors[-6000:]}"
    assert not leftover, f"run --follow with {env} left processes behind"
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, errors)


def episodes(data: Path) -> list[tuple[str, str]]:
    """Every alert fired, as (rule, episode): each once, whatever the restarts."""
    state = orjson.loads(next(data.glob("outputs/*/_alerts.json")).read_bytes())
    return sorted((f["rule"], f["episode"]) for f in state["firings"])


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, list[tuple]], list]:
    """One run over the same windows, end_time fixed: its warehouse and alerts."""
    folder = tmp_path_factory.mktemp("clean")
    cfg = folder / "tweetsense.yaml"
    cfg.write_text(CONFIG.replace("end_time: now", f"end_time: {UNTIL}"))
    with Pipeline(load_config(cfg, data_dir=folder / "data")) as p:
        run_all(p)
    fired = episodes(folder / "data")
    assert fired and len(set(fired)) == len(fired)
    return warehouse(folder / "data"), fired


@pytest.mark.slow
def test_follow_killed_at_a_random_point_then_restarted_equals_a_clean_run(
    tmp_path: Path, clean: tuple[dict[str, list[tuple]], list]
) -> None:
    traced = tmp_path / "trace.txt"
    done = follow(tmp_path, tmp_path / "whole", {TRACE_ENV: str(traced)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("through ") == 6  # the backfill and five live steps
    assert warehouse(tmp_path / "whole") == clean[0]
    assert episodes(tmp_path / "whole") == clean[1]

    # Any point a stage marks as one a crash must survive, at any step.
    reached = traced.read_text().split()
    seed = int(os.environ.get("TWEETSENSE_TEST_SEED", random.randrange(1 << 30)))
    at = random.Random(seed).randrange(len(reached))
    point, nth = reached[at], reached[: at + 1].count(reached[at])
    data = tmp_path / "killed"
    killed = follow(tmp_path, data, {KILL_ENV: f"{point}:{nth}"})
    assert killed.returncode == -signal.SIGKILL, (seed, point, nth, killed.stderr)
    again = follow(tmp_path, data)
    assert again.returncode == 0, (seed, point, nth, again.stderr)
    assert warehouse(data) == clean[0], (seed, point, nth)
    # Each episode of each rule fired once: none twice for the restart, none lost to the kill.
    assert episodes(data) == clean[1], (seed, point, nth)


def test_sigterm_stops_after_the_current_step(tmp_path: Path) -> None:
    cfg = tmp_path / "tweetsense.yaml"
    cfg.write_text(CONFIG)
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [*CLI, "run", "--config", str(cfg), "--data-dir", str(data), "--follow"],
        env={**os.environ, clock.FAKE_NOW_ENV: NOW},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the backfill's line: the next step is under way
    assert first.startswith("through 2024-03-01T00:45"), first
    proc.send_signal(signal.SIGTERM)
    _, errors = proc.communicate(timeout=300)
    assert proc.returncode == 0, errors
    assert "stopping after the current step (SIGTERM)" in errors
    config = load_config(cfg, data_dir=data)
    state = FollowState.read(Pipeline(config))
    assert state is not None and state.last is not None and state.last.error is None
    last = state.last.through
    # Every window up to the last step is loaded whole; none after it.
    loaded = duckdb.connect(str(data / "warehouse.duckdb"), read_only=True)
    windows = loaded.execute("SELECT max(time_window), count(*) FROM sentiment").fetchone()
    loaded.close()
    assert windows is not None and windows[0] == last - timedelta(minutes=15)
    assert windows[1] == (last - parse_utc(START)) // timedelta(minutes=15)
    assert state.next_at == last + timedelta(minutes=17)


def test_end_time_now_means_the_windows_closed_and_settled(tmp_path: Path) -> None:
    config = load_config(None, demo=True, data_dir=tmp_path, environ={
        "TWEETSENSE_SEARCH__END_TIME": "now", "TWEETSENSE_SEARCH__SETTLE": "5min"})  # fmt: skip
    assert config.search.end_time is None
    search = config.search
    assert search.closed_until(parse_utc("2024-03-01T01:04:59Z")) == parse_utc(
        "2024-03-01T00:45:00Z"
    )
    assert search.closed_until(parse_utc("2024-03-01T01:05:00Z")) == parse_utc(
        "2024-03-01T01:00:00Z"
    )
    with pytest.raises(ConfigError, match="later than the last closed window"):
        search.until(parse_utc("2024-02-29T23:00:00Z"))


def test_follow_refuses_a_fixed_end_time(tmp_path: Path) -> None:
    cfg = tmp_path / "tweetsense.yaml"
    cfg.write_text(CONFIG.replace("end_time: now", "end_time: 2024-03-01T03:00:00Z"))
    done = subprocess.run(
        [*CLI, "run", "--config", str(cfg), "--data-dir", str(tmp_path / "d"), "--follow"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "--follow: search.end_time is fixed" in done.stderr
