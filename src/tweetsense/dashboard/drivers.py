"""What drives a range's sentiment: the terms most over-represented among its posts of a label.

The score is the weighted log-odds ratio with an informative Dirichlet prior of Monroe,
Colaresi & Quinn (2008, "Fightin' Words", Political Analysis 16(4)), as a z-score: the target is
the range's posts of the label, the rest every other post of the query, and the prior the
query's own counts over all its windows and labels. A term of a few posts cannot score high:
its prior pulls it to the query's usual rate, and its variance is large.

The query's totals per term sum every ``driver`` row of the query, heavy over a year of
windows, so they are kept per warehouse and query until a load changes its windows.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tweetsense.warehouse.reads import SqlReads

KINDS = ("entity", "term", "hashtag", "mention", "domain")
_KEPT = 32  # queries whose totals one warehouse keeps


@dataclass(frozen=True)
class Totals:
    version: tuple[Any, ...]
    counts: dict[tuple[str, str], int]  # (kind, term) -> posts over the whole query
    size: int  # the sum of ``counts``


class TotalsCache:
    """The query's totals per (kind, term), read again when ``loaded_version`` changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_warehouse: weakref.WeakKeyDictionary[SqlReads, dict[str, Totals]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, wh: SqlReads, query: str) -> Totals:
        version = wh.loaded_version(query)
        with self._lock:
            entries = self._by_warehouse.setdefault(wh, {})
            hit = entries.get(query)
        if hit is not None and hit.version == version:
            return hit
        cols = wh.driver_totals(query)
        counts = {
            (kind, term): int(n)
            for kind, term, n in zip(cols["kind"], cols["term"], cols["count"], strict=True)
        }
        totals = Totals(version, counts, sum(counts.values()))
        with self._lock:
            entries.pop(query, None)
            entries[query] = totals
            while len(entries) > _KEPT:
                entries.pop(next(iter(entries)))
        return totals


TOTALS = TotalsCache()


def log_odds_z(count: int, size: int, prior: int, prior_size: int) -> float | None:
    """z-score of a term used by ``count`` of the target's ``size``, where the whole query
    (target included) has ``prior`` of ``prior_size``; None where it is undefined."""
    rest, rest_size = max(prior - count, 0), max(prior_size - size, 0)
    a, a0 = prior, prior_size
    odds_target = (count + a) / (size + a0 - count - a) if size + a0 - count - a > 0 else None
    odds_rest = (rest + a) / (rest_size + a0 - rest - a) if rest_size + a0 - rest - a > 0 else None
    if odds_target is None or odds_rest is None or count + a <= 0 or rest + a <= 0:
        return None
    delta = math.log(odds_target) - math.log(odds_rest)
    return delta / math.sqrt(1 / (count + a) + 1 / (rest + a))


def ranked(rows: Iterable[dict[str, Any]], totals: Totals, limit: int) -> list[dict[str, Any]]:
    """``driver_counts`` rows scored against ``totals``, the highest ``limit`` first. Every
    kind shares one vocabulary, so a kind's scores do not change when the list keeps only it."""
    out = []
    for row in rows:
        count, size = int(row["count"]), int(row["total"])
        # A term missing from the totals was loaded after them: the target is all of it.
        prior = max(totals.counts.get((row["kind"], row["term"]), count), count)
        z = log_odds_z(count, size, prior, max(totals.size, size))
        if z is None or z <= 0:
            continue
        out.append(
            {
                "term": row["term"],
                "kind": row["kind"],
                "count": count,
                "rest": prior - count,
                "score": round(z, 3),
            }
        )
    out.sort(key=lambda d: (-d["score"], -d["count"], d["kind"], d["term"]))
    return out[:limit]
