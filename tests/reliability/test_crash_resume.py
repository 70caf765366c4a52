"""A short crash/resume run: one SIGKILL per stage, each in the middle of a write.

The full run over every point is ``benchmarks/crash_resume.py``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.crash import (
    STAGE_OF,
    Workdir,
    config,
    crash_and_resume,
    plan,
    snapshot,
    traced_clean_run,
)

# Between a temp file's write and its rename, inside an open SQLite or DuckDB transaction.
SHORT = (
    "store.put.sentiment",
    "store.put.columnar",
    "stream.publish.uncommitted",
    "store.writing.outputs",
)
SHORT_LOAD = "load.uncommitted"


@pytest.mark.slow
def test_kill_in_every_stage_then_rerun_equals_clean_run(tmp_path: Path) -> None:
    work = Workdir(tmp_path, config(hours=3))
    counts = traced_clean_run(work)
    assert set(counts) == set(STAGE_OF), "every crash point is reached by a clean run"
    clean = snapshot(tmp_path / "clean")
    assert len(clean["sentiment"]) == 12 and len(clean["tweet"]) > 100
    kills = [k for k in plan(counts, seed=7, per_point=1) if k[0] in SHORT]
    kills.append((SHORT_LOAD, 1))
    assert {STAGE_OF[p] for p, _ in kills} == {"ingest", "consume", "batch", "load"}
    for point, n in kills:
        outcome = crash_and_resume(work, point, n, clean)
        assert outcome.killed, f"{point}:{n} was not reached"
        assert outcome.reruns == 1, f"{point}:{n} needed {outcome.reruns} reruns"
        assert outcome.differences == [], f"{point}:{n}: {outcome.differences}"
        assert outcome.duplicates == 0


def test_fault_points_cost_nothing_and_reject_a_bad_setting() -> None:
    from tweetsense import faults
    from tweetsense.errors import ConfigError

    assert faults._parse(None) is None
    assert faults._parse("store.put.staging:3") == ("store.put.staging", 3)
    for bad in ("store.put.staging", "x:0", ":2", "x:-1"):
        with pytest.raises(ConfigError, match="TWEETSENSE_FAULT_KILL_AT"):
            faults._parse(bad)
