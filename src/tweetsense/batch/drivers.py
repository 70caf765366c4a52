"""What each placed post names (its drivers) and how many posts of each label name a term per
window, as Ibis expressions so DuckDB and Spark compute them alike.

Only functions both engines compile the same way are used: lower, regex replace and extract,
sorted arrays joined with a separator. Regexes stay in the subset RE2 (DuckDB) and Java (Spark)
read identically. The words of the texts are found once, in Python, when a window is staged.
"""

from __future__ import annotations

import ibis
from ibis import _

_HOST = r"^[a-z][a-z0-9+.-]*://([^/?#@]*@)?([^/?#:@]+)"


def _normalised(mentioned: ibis.Table) -> ibis.Table:
    """(tweet_id, file_order, position, kind, term) with kinds and terms as ``DRIVER`` has
    them; empty terms left out."""
    m = mentioned
    raw = m.term
    lower = raw.lower()
    host = lower.strip().re_extract(_HOST, 2).re_replace(r"^www\.", "")
    term = ibis.cases(
        (m.kind == "hashtag", "#" + lower),
        (m.kind == "mention", "@" + lower),
        (m.kind == "url", host),
        else_=raw.replace("\n", " ").strip(),
    )
    kind = ibis.ifelse(m.kind == "url", "domain", m.kind)
    out = m.select("tweet_id", "file_order", "position", kind=kind, term=term)
    return out.filter(out.term.notnull() & (out.term != "") & (out.term != "#") & (out.term != "@"))


def post_drivers(tweet_rows: ibis.Table, mentioned: ibis.Table) -> ibis.Table:
    """One row per placed post and driver (tweet_id, window_epoch, time_window, label, kind,
    term), from what the post's own page row names: its entities and the words of its scored
    text (found when its window was staged, ``columnar.words``)."""
    posts = tweet_rows.select(
        "tweet_id", "file_order", "position", "window_epoch", "time_window", "label"
    )
    named = _normalised(mentioned)
    joined = posts.join(
        named,
        (posts.tweet_id == named.tweet_id)
        & (posts.file_order == named.file_order)
        & (posts.position == named.position),
    )
    return joined.select(
        "tweet_id", "window_epoch", "time_window", "label", "kind", "term"
    ).distinct()


def terms(named: ibis.Table) -> ibis.Table:
    """(terms_id, terms): each post's drivers as sorted "kind:term" lines between newlines."""
    lines = named.select("tweet_id", line=named.kind + ":" + named.term)
    per_post = lines.group_by(terms_id=lines.tweet_id).aggregate(_lines=_.line.collect())
    return per_post.select("terms_id", terms="\n" + per_post._lines.sort().join("\n") + "\n")


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
