"""How many posts of each label name a driver per window, as Ibis expressions so DuckDB and
Spark compute them alike. What each post names is found once, in Python, when its window is
staged (``columnar.posts``)."""

from __future__ import annotations

import ibis
from ibis import _


def post_drivers(tweet_rows: ibis.Table) -> ibis.Table:
    """One row per placed post and driver (tweet_id, window_epoch, time_window, label, kind,
    term): what the post's own page row names (``columnar.posts``)."""
    flat = tweet_rows.select(
        "tweet_id", "window_epoch", "time_window", "label", _driver=tweet_rows.drivers.unnest()
    )
    return flat.select(
        "tweet_id", "window_epoch", "time_window", "label", kind=_._driver.kind, term=_._driver.term
    )


def per_window(named: ibis.Table, query: str, min_count: int) -> ibis.Table:
    """``DRIVER``'s rows: per window, kind, term and label, the posts naming the term; a word
    only where at least ``min_count`` posts of the window use it."""
    labelled = named.filter(named.label.notnull())
    keys = ["window_epoch", "time_window", "kind", "term"]
    counts = labelled.group_by(*keys, "label").aggregate(count=_.count())
    users = counts.mutate(
        _posts=counts["count"].sum().over(group_by=[counts.window_epoch, counts.kind, counts.term])
    )
    kept = users.filter((users.kind != "term") | (users._posts >= min_count))
    return kept.select(
        query=ibis.literal(query),
        time_window=kept.time_window,
        kind=kept.kind,
        term=kept.term,
        label=kept.label,
        count=kept["count"],
    ).order_by("time_window", "kind", "term", "label")
