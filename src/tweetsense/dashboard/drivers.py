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

import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

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


def scores(cols: Mapping[str, Sequence[Any]], totals: Totals) -> np.ndarray:
    """The z-score of each row of ``driver_counts`` columns (``kind``, ``term``, ``count`` in
    the target, ``total`` the target's size) against ``totals``; NaN where undefined."""
    count = np.asarray(cols["count"], dtype=np.float64)
    size = np.asarray(cols["total"], dtype=np.float64)
    # A term missing from the totals was loaded after them: the target is all of it.
    known = [totals.counts.get(key, 0) for key in zip(cols["kind"], cols["term"], strict=True)]
    prior = np.maximum(np.asarray(known, dtype=np.float64), count)
    prior_size = np.maximum(float(totals.size), size)
    rest, rest_size = prior - count, np.maximum(prior_size - size, 0)
    # Log-odds of the term in the target and in the rest, each with the prior's counts added.
    target_other = size + prior_size - count - prior
    rest_other = rest_size + prior_size - rest - prior
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.log((count + prior) / target_other) - np.log((rest + prior) / rest_other)
        z = delta / np.sqrt(1 / (count + prior) + 1 / (rest + prior))
    return np.where((target_other > 0) & (rest_other > 0), z, np.nan)


def _row(cols: Mapping[str, Sequence[Any]], i: int, z: float, totals: Totals) -> dict[str, Any]:
    count = int(cols["count"][i])
    prior = max(totals.counts.get((cols["kind"][i], cols["term"][i]), count), count)
    return {
        "term": cols["term"][i],
        "kind": cols["kind"][i],
        "count": count,
        "rest": prior - count,
        "score": round(float(z), 3),
    }


def _top(
    cols: Mapping[str, Sequence[Any]], z: np.ndarray, groups: np.ndarray, limit: int
) -> list[list[int]]:
    """Per group (``groups``: a group number per row, from 0), its rows of positive score,
    highest first and at most ``limit``: ties on the rounded score go to more posts, then kind
    and term, so that every engine's row order gives the same list."""
    rounded = np.round(np.nan_to_num(z, nan=-1.0), 3)
    count = np.asarray(cols["count"], dtype=np.int64)
    order = np.lexsort((-count, -rounded, groups))
    order = order[rounded[order] > 0]
    if not len(order):
        return []
    starts = np.flatnonzero(np.r_[True, groups[order][1:] != groups[order][:-1]])
    out = []
    for a, b in zip(starts, [*starts[1:], len(order)], strict=True):
        rows = order[a:b]
        n = min(limit, len(rows))
        # Beyond the limit only rows tied with the last one kept can still be among the top.
        while n < len(rows) and (rounded[rows[n]], count[rows[n]]) == (
            rounded[rows[n - 1]],
            count[rows[n - 1]],
        ):
            n += 1
        kept = sorted(
            (int(i) for i in rows[:n]),
            key=lambda i: (-rounded[i], -count[i], cols["kind"][i], cols["term"][i]),
        )
        out.append(kept[:limit])
    return out


def ranked(cols: Mapping[str, Sequence[Any]], totals: Totals, limit: int) -> list[dict[str, Any]]:
    """``driver_counts`` columns scored against ``totals``, the highest ``limit`` first. Every
    kind shares one vocabulary, so a kind's scores do not change when the list keeps only it."""
    z = scores(cols, totals)
    top = _top(cols, z, np.zeros(len(z), dtype=np.int64), limit)
    return [_row(cols, i, z[i], totals) for i in (top[0] if top else [])]


def ranked_by(
    cols: Mapping[str, Sequence[Any]], keys: Sequence[str], totals: Totals, limit: int
) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """``ranked`` within each group of rows with the same values of the columns ``keys``."""
    z = scores(cols, totals)
    labels = list(zip(*(cols[k] for k in keys), strict=True))
    number: dict[tuple[Any, ...], int] = {}
    groups = np.array([number.setdefault(g, len(number)) for g in labels], dtype=np.int64)
    out: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for rows in _top(cols, z, groups, limit):
        out[labels[rows[0]]] = [_row(cols, i, z[i], totals) for i in rows]
    return out
