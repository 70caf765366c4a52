"""What each placed post names (its drivers) and how many posts of each label name a term per
window, as Ibis expressions so DuckDB and Spark compute them alike.

Only functions both engines compile the same way are used: lower, regex replace and extract,
split on one space, sorted arrays joined with a separator. Regexes stay in the subset RE2
(DuckDB) and Java (Spark) read identically.
"""

from __future__ import annotations

import ibis
from ibis import _

from tweetsense.batch.stopwords import STOPWORDS

_STOPWORDS = sorted(STOPWORDS)
# Links, hashtags and mentions are drivers of their own kinds, not words of the text.
_LINK = r"(https?://|www\.)[^ \t\r\n]+"
_TAG = r"[#@][a-z0-9_]+"
_NOT_WORD = r"[^a-z0-9']+"
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


def _words(posts: ibis.Table) -> ibis.Table:
    """(tweet_id, kind 'term', term) for each word of each post's text: lowercase letters,
    digits and apostrophes, at least 3 characters, no stopword, not only digits."""
    text = posts.text.lower().replace("\u2019", "'")
    text = text.re_replace(_LINK, " ").re_replace(_TAG, " ").re_replace(_NOT_WORD, " ")
    tokens = posts.select("tweet_id", token=text.split(" ").unnest())
    word = tokens.token.re_replace(r"^'+", "").re_replace(r"'+$", "")
    words = tokens.select("tweet_id", kind=ibis.literal("term"), term=word)
    return words.filter(
        (words.term.length() >= 3)
        & ~words.term.isin(_STOPWORDS)
        & ~words.term.re_search(r"^[0-9']+$")
    )


def post_drivers(tweet_rows: ibis.Table, mentioned: ibis.Table) -> ibis.Table:
    """One row per placed post and driver (tweet_id, window_epoch, time_window, label, kind,
    term): the post's own page row names the entities, its scored text gives the words."""
    posts = tweet_rows.select(
        "tweet_id", "file_order", "position", "window_epoch", "time_window", "label", "text"
    )
    named = _normalised(mentioned)
    from_page = posts.join(
        named,
        (posts.tweet_id == named.tweet_id)
        & (posts.file_order == named.file_order)
        & (posts.position == named.position),
    ).select("tweet_id", "kind", "term")
    every = from_page.union(_words(posts)).distinct()
    keys = posts.select("tweet_id", "window_epoch", "time_window", "label")
    return every.join(keys, "tweet_id")


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
