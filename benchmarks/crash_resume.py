"""Crash/resume: SIGKILL `tweetsense run` at every named point, rerun, compare with a clean run.

    .venv/bin/python benchmarks/crash_resume.py [--seed 1] [--per-point 3] [--hours 6]

A clean run counts how often each crash point is reached; then, for every point and up to
``--per-point`` seeded occurrences of it, a run is killed there (SIGKILL, from inside the
process: see tweetsense/faults.py), rerun until it exits 0, and its warehouse tables and batch
outputs are compared row for row with the clean run's. Exits 1 if any kill point differs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.crash import (  # noqa: E402  (the harness lives with the tests)
    STAGE_OF,
    Workdir,
    config,
    crash_and_resume,
    plan,
    snapshot,
    traced_clean_run,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-point", type=int, default=3, help="kills per point at most")
    parser.add_argument("--hours", type=int, default=6, help="hours of 15-minute windows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tweetsense-crash-") as tmp:
        work = Workdir(Path(tmp), config(hours=args.hours))
        started = time.perf_counter()
        counts = traced_clean_run(work)
        clean = snapshot(work.root / "clean")
        kills = plan(counts, args.seed, args.per_point)
        print(f"clean run: {len(clean['tweet'])} tweets, {len(clean['sentiment'])} windows")
        print(
            f"{len(kills)} kill points over {len(set(STAGE_OF.values()))} stages (seed {args.seed})"
        )
        failed = 0
        killed: Counter[str] = Counter()
        dupes = 0
        for point, n in kills:
            o = crash_and_resume(work, point, n, clean)
            killed[STAGE_OF[point]] += o.killed
            dupes += o.duplicates
            ok = o.killed and not o.differences and not o.duplicates
            failed += not ok
            verdict = (
                "identical"
                if ok
                else ("NOT KILLED " if not o.killed else "")
                + "; ".join(o.differences or [f"{o.duplicates} duplicates"])
            )
            print(f"  {STAGE_OF[point]:8} {point}:{n:<4} reruns {o.reruns}  {verdict}")
        print(
            f"kills per stage: {dict(killed)}; duplicates found: {dupes}; "
            f"failed kill points: {failed}; {time.perf_counter() - started:.0f}s"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
