"""How much two analyzers agree on the same posts: the share of posts given the same label, and
Cohen's kappa, which discounts the agreement two analyzers would reach by chance given how often
each uses each label (1: always agree, 0: as chance would, below 0: worse than chance).

``tweetsense eval`` says which analyzer is right on labelled posts; agreement says how much
they differ on yours.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tweetsense.staging.base import Store


@dataclass(frozen=True)
class Agreement:
    a: str
    b: str
    posts: int  # scored by both
    same: float | None  # share given the same label
    kappa: float | None  # None when chance agreement is total (both always say one label)

    def line(self) -> str:
        if not self.posts:
            return f"{self.a} vs {self.b}: no post scored by both"
        kappa = f"{self.kappa:.2f}" if self.kappa is not None else "n/a"
        return (
            f"{self.a} vs {self.b}: same label on {self.same:.1%} of {self.posts:,} posts, "
            f"Cohen's kappa {kappa}"
        )


def from_pairs(a: str, b: str, pairs: Mapping[tuple[str, str], int]) -> Agreement:
    """From the count of posts per (label by a, label by b)."""
    n = sum(pairs.values())
    if not n:
        return Agreement(a, b, 0, None, None)
    observed = sum(c for (la, lb), c in pairs.items() if la == lb) / n
    by_a: Counter[str] = Counter()
    by_b: Counter[str] = Counter()
    for (la, lb), c in pairs.items():
        by_a[la] += c
        by_b[lb] += c
    chance = sum(by_a[label] * by_b[label] for label in by_a) / (n * n)
    kappa = None if chance >= 1 else (observed - chance) / (1 - chance)
    return Agreement(a, b, n, observed, kappa)


def of_scores(scores: pa.Table, primary: str, others: Iterable[str]) -> list[Agreement]:
    """The primary analyzer against each other one, over ``scores`` (tweet_score rows)."""
    con = duckdb.connect()
    try:
        con.register("scores", scores)
        found = []
        for other in others:
            rows = con.execute(
                "SELECT x.label, y.label, count(*) FROM scores x JOIN scores y "
                "ON x.query = y.query AND x.tweet_id = y.tweet_id "
                "WHERE x.analyzer = ? AND y.analyzer = ? GROUP BY ALL",
                [primary, other],
            ).fetchall()
            found.append(from_pairs(primary, other, {(la, lb): int(c) for la, lb, c in rows}))
        return found
    finally:
        con.close()


def of_outputs(store: Store, key: str, primary: str, others: list[str]) -> list[Agreement]:
    """``of_scores`` over the batch's tweet_score output at ``key`` (none yet: no rows)."""
    if not others:
        return []
    try:
        data = store.get(key)
    except KeyError:
        return []
    return of_scores(pq.read_table(pa.BufferReader(data)), primary, others)
