"""The batch job as one Ibis expression, so DuckDB and Spark run the very same logic.

Inputs are flat tables an engine reads from the files (see ``INPUT_SCHEMAS``); every one carries
``file_order`` (the epoch seconds of the window file it came from) and ``position`` (its place in
that file) so "latest wins" is a deterministic order. Choices that keep engines identical:
buckets are ``epoch_seconds // freq`` (Ibis ``bucket()`` fails on PySpark), deduplication is
``row_number()`` (not ``distinct(on=...)``), and every connection runs in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.datatypes as dt
from ibis import _

from tweetsense.batch import drivers
from tweetsense.contracts import LABELS
from tweetsense.warehouse.schema import (
    AGREEMENT,
    SENTIMENT,
    SENTIMENT_BY_ANALYZER,
    TWEET,
    TWEET_SCORE,
)

_SCORES = {
    "tweet_id": "string",
    "label": "string",
    "positive": "float64",
    "negative": "float64",
    "neutral": "float64",
    "mixed": "float64",
    "analyzer": "string",
    "file_order": "int64",
    "position": "int64",
}

DRIVERS = "array<struct<kind: string, term: string>>"

INPUT_SCHEMAS: dict[str, dict[str, str]] = {
    "tweets": {
        "tweet_id": "string",
        "created_at": "timestamp('UTC')",
        "text": "string",  # as the API sent it: cut short for a long post or a repost
        "note_text": "string",  # note_tweet.text: the whole text of a long post
        "retweeted_id": "string",  # the post a repost repeats
        "lang": "string",
        "conversation_id": "string",
        "referenced_tweets": "string",
        # What the post names, and the same as sorted "kind:term" lines (``columnar.posts``).
        "drivers": DRIVERS,
        "terms": "string",
        "file_order": "int64",
        "position": "int64",
    },
    # Every post row's place and time, for placement, and the narrow facts the aggregates read:
    # in an incremental batch these are all staged posts while ``tweets`` holds only the rows of
    # the files it recomputes.
    "keys": {
        "tweet_id": "string",
        "created_at": "timestamp('UTC')",
        "author_id": "string",
        "retweeted_id": "string",
        # From referenced_tweets: repost (retweeted) > quote > reply > original.
        "post_type": "string",
        # public_metrics; null when the page had none.
        "like_count": "int64",
        "repost_count": "int64",
        "reply_count": "int64",
        "quote_count": "int64",
        "file_order": "int64",
        "position": "int64",
    },
    "users": {
        "user_id": "string",
        "username": "string",
        "name": "string",
        "verified": "boolean",
        "location": "string",
        "file_order": "int64",
        "position": "int64",
    },
    # The primary analyzer's scores (``sentiment/``); ``analysis_scores`` has the same columns.
    "scores": _SCORES,
    # The other analyzers' scores (``analyses/<name>/``), of any windows.
    "analysis_scores": _SCORES,
    # The name of every analyzer with a sentiment file in the inputs, an empty one included.
    "analyzers": {"analyzer": "string"},
    # includes.tweets: the posts the page's posts refer to, a repost's original among them.
    "referenced": {
        "tweet_id": "string",
        "text": "string",
        "note_text": "string",
        "file_order": "int64",
        "position": "int64",
    },
    # Each post row's edit_history_tweet_ids, one row per id, numbered from 1 (oldest first).
    "versions": {
        "tweet_id": "string",
        "version_id": "string",
        "version_no": "int64",
        "file_order": "int64",
        "position": "int64",
    },
    "windows": {"window_epoch": "int64"},
    # The windows whose rows the outputs hold (all of ``windows`` in a full batch); the ledger
    # always covers every file.
    "affected": {"window_epoch": "int64"},
    # The staged file's top-level ``volume`` (``contracts.StagingDoc.volume``), null if absent.
    "volumes": {"file_order": "int64", "volume": "int64"},
}


# What becomes of each post row of the staged files, in the order the reasons are tested: a
# post is "placed" (a row of `tweet`) or dropped under exactly one named reason.
PLACED = "placed"
DROP_REASONS = ("no_id", "duplicate", "edited", "no_time", "unscored", "outside_range")
# X post ids are snowflakes: milliseconds since this epoch, shifted left 22 bits. Ids below the
# bound are sequential ids of before November 2010 (or not X ids at all) and carry no time.
SNOWFLAKE_EPOCH_MS = 1288834974657
SNOWFLAKE_MIN_ID = 1 << 38


@dataclass(frozen=True)
class JobOutputs:
    # The placed post rows (with ``time_window``), and the posts output of some of them.
    placed: ibis.Table
    posts_of: Callable[[ibis.Table], ibis.Table]
    windows: ibis.Table
    # One row per staged window file (``file_epoch``): posts read, placed, dropped per reason,
    # and how many of the placed ones took their time from their id.
    ledger: ibis.Table
    # Every analyzer's latest score of each post of ``tweets`` (``TWEET_SCORE``), and the
    # ``windows`` aggregates per analyzer (``SENTIMENT_BY_ANALYZER``).
    scores: ibis.Table
    by_analyzer: ibis.Table
    # Per window, kind, term and label: how many of the placed posts given name the term
    # (``DRIVER``); a window's rows depend on its own posts only.
    drivers_of: Callable[[ibis.Table], ibis.Table]
    # Per window, analyzer pair and label pair: how many posts get those labels (``AGREEMENT``).
    agreement: ibis.Table

    @property
    def tweets(self) -> ibis.Table:
        """The posts output (``TWEET``) of every placed post."""
        return self.posts_of(self.placed)

    @property
    def drivers(self) -> ibis.Table:
        """The drivers output (``DRIVER``) of every placed post."""
        return self.drivers_of(self.placed)


def latest(table: ibis.Table, key: str | list[str]) -> ibis.Table:
    """One row per ``key``: the one from the latest window file, last in that file."""
    ranked = _ranked(table, key)
    return ranked.filter(ranked._rank == 0).drop("_rank", "file_order", "position")


def _ranked(table: ibis.Table, key: str | list[str]) -> ibis.Table:
    order = [ibis.desc(table.file_order), ibis.desc(table.position)]
    keys = [table[k] for k in ([key] if isinstance(key, str) else key)]
    return table.mutate(_rank=ibis.row_number().over(group_by=keys, order_by=order))


def _window_start(epoch: ibis.Value) -> ibis.Value:
    return epoch.as_timestamp("s").cast(dt.Timestamp(timezone="UTC"))


def snowflake_time(tweet_id: ibis.Value) -> ibis.Value:
    """The creation time an X post id encodes (null when the id is no snowflake)."""
    number = tweet_id.try_cast("int64")
    millis = number // (1 << 22) + SNOWFLAKE_EPOCH_MS
    # Whole seconds plus a millisecond interval: PySpark reads unix times in seconds only.
    stamp = (millis // 1000).as_timestamp("s") + (millis % 1000).as_interval("ms")
    utc = dt.Timestamp(timezone="UTC")
    return ibis.ifelse(number >= SNOWFLAKE_MIN_ID, stamp.cast(utc), ibis.null(utc))


def originals(referenced: ibis.Table) -> ibis.Table:
    """The whole text of each post a window file includes (``includes.tweets``), by file and
    id: the last one listed."""
    r = referenced
    ranked = r.mutate(
        _rank=ibis.row_number().over(
            group_by=[r.file_order, r.tweet_id], order_by=ibis.desc(r.position)
        )
    )
    return ranked.filter(ranked._rank == 0).select(
        original_file=_.file_order,
        original_id=_.tweet_id,
        original_text=_.note_text.coalesce(_.text),
    )


def with_texts(tweets: ibis.Table, originals: ibis.Table) -> ibis.Table:
    """The posts with the text that is scored (``contracts.StagingDoc.tweet_texts``): a
    repost's original's whole text when its window file includes the original (``originals``),
    else the post's own whole text (``note_tweet`` for a long post); with the API's escapes
    undone."""
    joined = tweets.left_join(
        originals,
        (tweets.file_order == originals.original_file)
        & (tweets.retweeted_id == originals.original_id),
    )
    text = joined.original_text.coalesce(joined.note_text, joined.text)
    return joined.mutate(text=_unescape(text)).drop(
        "original_file", "original_id", "original_text", "note_text", "retweeted_id"
    )


def _unescape(text: ibis.Value) -> ibis.Value:
    """As ``contracts.unescape_text``, in the same order."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def superseded(versions: ibis.Table) -> ibis.Table:
    """The ids (``superseded_id``) some staged post lists before its own id in its edit
    history: earlier versions of an edited post whose newer version is staged too."""
    v = versions
    own = (
        v.filter((v.version_id == v.tweet_id) & (v.tweet_id != ""))
        .group_by("file_order", "position")
        .aggregate(own_no=_.version_no.min())
    )
    listed = v.join(own, ["file_order", "position"])
    return (
        listed.filter(listed.version_no < listed.own_no)
        .select(superseded_id=listed.version_id)
        .distinct()
    )


def classify(
    tweets: ibis.Table,
    scores: ibis.Table,
    windows: ibis.Table,
    versions: ibis.Table,
    freq_seconds: int,
) -> ibis.Table:
    """Every post row with its ``fate`` (PLACED or a drop reason), its time (from the id when
    the page gave none: ``time_derived``), window and latest score. Of an edited post only the
    latest staged version is placed, once."""
    s = latest(scores, "tweet_id").rename(score_tweet_id="tweet_id")
    w = windows.select(staged_epoch=windows.window_epoch).distinct()
    older = superseded(versions)
    ranked = _ranked(tweets, "tweet_id")
    t = ranked.mutate(
        time_derived=ranked.created_at.isnull(),
        created_at=ranked.created_at.coalesce(snowflake_time(ranked.tweet_id)),
    )
    t = t.mutate(window_epoch=(t.created_at.epoch_seconds() // freq_seconds) * freq_seconds)
    joined = (
        t.left_join(s, t.tweet_id == s.score_tweet_id)
        .left_join(w, _.window_epoch == w.staged_epoch)
        .left_join(older, _.tweet_id == older.superseded_id)
    )
    fate = ibis.cases(
        (joined.tweet_id.isnull() | (joined.tweet_id == ""), "no_id"),
        (joined._rank != 0, "duplicate"),
        (joined.superseded_id.notnull(), "edited"),
        (joined.created_at.isnull(), "no_time"),
        (joined.score_tweet_id.isnull(), "unscored"),
        (joined.staged_epoch.isnull(), "outside_range"),
        else_=PLACED,
    )
    return joined.mutate(fate=fate).drop("_rank", "score_tweet_id", "staged_epoch", "superseded_id")


def _ledger(rows: ibis.Table) -> ibis.Table:
    counts = {
        reason: (rows.fate == reason).cast("int64").sum() for reason in (PLACED, *DROP_REASONS)
    }
    placed_derived = ((rows.fate == PLACED) & rows.time_derived).cast("int64").sum()
    return (
        rows.group_by(file_epoch=rows.file_order)
        .aggregate(fetched=rows.count(), **counts, time_derived=placed_derived)
        .order_by("file_epoch")
    )


# How an engine keeps an intermediate table that several outputs read: computed once (a table
# in DuckDB, a persisted frame in Spark) instead of once per output that reads it.
Keep = Callable[[str, ibis.Table], ibis.Table]


def _as_is(name: str, table: ibis.Table) -> ibis.Table:
    return table


def build(
    inputs: Mapping[str, ibis.Table],
    *,
    query: str,
    freq_seconds: int,
    driver_min_count: int = 2,
    keep: Keep = _as_is,
) -> JobOutputs:
    """The outputs from the tables of ``INPUT_SCHEMAS``, by name, and optionally ``rows``: the
    post rows ``classify`` makes of them, computed before. A word is a driver of a window when
    at least ``driver_min_count`` of its posts use it. ``keep`` is called on each shared
    intermediate, in the order they depend on each other."""
    windows = inputs["windows"]
    tweets = inputs["tweets"]
    affected = inputs["affected"].select(_affected_epoch=_.window_epoch).distinct()
    # Placement and the aggregates read the narrow ``keys`` of each post row; its texts and
    # drivers join the placed rows by their place in the files only in the outputs that show
    # them, so that no sort or join before them carries texts.
    rows = inputs.get("rows")  # classified already (``BatchInputs.rows_uri``)
    if rows is None:
        keys, scores, versions = inputs["keys"], inputs["scores"], inputs["versions"]
        rows = keep("rows", classify(keys, scores, windows, versions, freq_seconds))
    fit = rows.filter(rows.fate == PLACED)
    fit = fit.semi_join(affected, fit.window_epoch == affected._affected_epoch)
    metrics = ("like_count", "repost_count", "reply_count", "quote_count")
    place = ["file_order", "position"]
    placed = fit.rename(repost_of="retweeted_id")
    tweet_rows = placed.mutate(
        time_window=_window_start(placed.window_epoch),
        # A repost's public_metrics are its original's (X counts the original's reposts there),
        # so a repost adds no engagement of its own: otherwise every copy repeats a viral post's.
        engagement=ibis.ifelse(
            placed.post_type == "repost",
            ibis.literal(0, "int64"),
            sum((placed[m].fill_null(0) for m in metrics), ibis.literal(0, "int64")),
        ),
    )
    tweet_rows = keep("tweet_rows", tweet_rows)

    every_window = windows.select(window_epoch=windows.window_epoch).distinct()
    spine = every_window.semi_join(affected, every_window.window_epoch == affected._affected_epoch)
    window_rows = _per_window(
        tweet_rows,
        spine,
        query,
        SENTIMENT.column_names,
        extra=_insight_per_window(tweet_rows, inputs["volumes"]),
    )

    # Every analyzer's scores, the primary's included, for the posts the primary placed.
    every = inputs["scores"].union(inputs["analysis_scores"])
    scored = latest(every, ["analyzer", "tweet_id"]).rename(score_tweet_id="tweet_id")
    posts = tweet_rows.select("tweet_id", "window_epoch", "time_window")
    score_rows = keep(
        "score_rows",
        posts.join(scored, posts.tweet_id == scored.score_tweet_id).mutate(
            query=ibis.literal(query)
        ),
    )
    pairs = inputs["analyzers"].select("analyzer").distinct().cross_join(spine)
    analyzer_rows = _per_window(
        score_rows, pairs, query, SENTIMENT_BY_ANALYZER.column_names, by=("analyzer",)
    )

    body = tweets.select(
        *place, "text", "note_text", "retweeted_id",
        "referenced_tweets", "lang", "conversation_id", "terms",
    )  # fmt: skip
    # Computed once: an engine may make the posts output of a few windows at a time.
    texts = keep("originals", originals(inputs["referenced"]))
    users = keep("users", latest(inputs["users"], "user_id"))

    def posts_of(placed: ibis.Table) -> ibis.Table:
        shown = with_texts(placed.join(body, place), texts)
        # Posts keep their author's id even when the author is unknown (no user object).
        shown = shown.left_join(users, shown.author_id == users.user_id).mutate(
            query=ibis.literal(query), user_id=_.author_id
        )
        return shown.select(*TWEET.column_names).order_by("created_at", "tweet_id")

    listed = tweets.select(*place, "drivers")

    def drivers_of(placed: ibis.Table) -> ibis.Table:
        named = drivers.post_drivers(placed.join(listed, place))
        return drivers.per_window(named, query, driver_min_count)

    scores_out = score_rows.select(*TWEET_SCORE.column_names).order_by(
        "time_window", "tweet_id", "analyzer"
    )
    return JobOutputs(
        placed=tweet_rows,
        posts_of=posts_of,
        windows=window_rows,
        ledger=_ledger(rows),
        scores=scores_out,
        by_analyzer=analyzer_rows,
        drivers_of=drivers_of,
        agreement=_agreement(score_rows, query),
    )


def _agreement(score_rows: ibis.Table, query: str) -> ibis.Table:
    """The analyzers' confusion counts per window: every pair of one post's scores, each
    unordered pair of analyzers once (``analyzer_a <= analyzer_b``, binary string order on
    every engine), so that any range's agreement is a sum over few rows."""
    a = score_rows.select("time_window", a_id=_.tweet_id, analyzer_a=_.analyzer, label_a=_.label)
    b = score_rows.view().select(b_id=_.tweet_id, analyzer_b=_.analyzer, label_b=_.label)
    pairs = a.join(b, (a.a_id == b.b_id) & (a.analyzer_a <= b.analyzer_b))
    keys = ["time_window", "analyzer_a", "analyzer_b", "label_a", "label_b"]
    counted = pairs.group_by(*keys).aggregate(count=_.count())
    return counted.mutate(query=ibis.literal(query)).select(*AGREEMENT.column_names).order_by(*keys)


def _insight_per_window(tweet_rows: ibis.Table, volumes: ibis.Table) -> list[ibis.Table]:
    """The new ``sentiment`` columns per window, as tables keyed by their first column: the
    reposts, opinions (each original once: the window's first post of it stands for it),
    engagement and engagement-weighted net sentiment of the windows with posts; the counted
    volume of the windows whose file has one."""
    t = tweet_rows
    key = t.repost_of.coalesce(t.tweet_id)
    ranked = t.mutate(
        _opinion=ibis.row_number().over(
            group_by=[t.window_epoch, key], order_by=[t.created_at, t.tweet_id]
        )
    )
    opinions = (
        ranked.filter(ranked._opinion == 0)
        .group_by(_opinion_epoch=_.window_epoch)
        .aggregate(
            count_opinions=_.count(),
            **{
                f"perc_opinion_{label.lower()}": (_.label == label).cast("float64").mean()
                for label in LABELS
            },
        )
    )
    weight = (t.engagement + 1).cast("float64")
    net = (t.label == "POSITIVE").cast("float64") - (t.label == "NEGATIVE").cast("float64")
    posts = t.group_by(_posts_epoch=t.window_epoch).aggregate(
        count_reposts=t.count(where=t.post_type == "repost"),
        # DuckDB sums BIGINTs into a HUGEINT (a double in Parquet), and Ibis drops a cast of
        # an int64 sum to int64; a sum of doubles is exact below 2**53.
        engagement=t.engagement.cast("float64").sum().cast("int64"),
        weighted_net=(weight * net).sum() / weight.sum(),
    )
    counted = volumes.group_by(_volume_epoch=volumes.file_order).aggregate(volume=_.volume.max())
    return [opinions, posts, counted]


def _per_window(
    rows: ibis.Table,
    spine: ibis.Table,
    query: str,
    columns: list[str],
    by: tuple[str, ...] = (),
    extra: Sequence[ibis.Table] = (),
) -> ibis.Table:
    """``sentiment``'s aggregates of ``rows`` per window (and per ``by``): one row per row of
    ``spine`` (``window_epoch`` and ``by``), so a time series has no holes. ``extra`` adds
    columns per window, each table keyed by its first column (``_insight_per_window``)."""
    keys = ["window_epoch", *by]
    # Per label, e.g. POSITIVE in column ``positive``: the mean score and the share of posts.
    cols = {label: label.lower() for label in LABELS}
    grouped = rows.group_by(*keys).aggregate(
        count_tweets=_.count(),
        **{f"avg_{col}": _[col].mean() for col in cols.values()},
        **{
            f"perc_tweet_{col}": (_.label == label).cast("float64").mean()
            for label, col in cols.items()
        },
    )
    grid = spine.select(**{f"_spine_{k}": spine[k] for k in keys})
    full = grid.left_join(grouped, [grid[f"_spine_{k}"] == grouped[k] for k in keys])
    for table in extra:
        full = full.left_join(table, full._spine_window_epoch == table[table.columns[0]])
    # Averages of an empty window stay null (no posts to average); counts and shares are 0.
    values = {
        "query": ibis.literal(query),
        "time_window": _window_start(full._spine_window_epoch),
        **{k: full[f"_spine_{k}"] for k in by},
        "count_tweets": full.count_tweets.fill_null(0),
        **{f"avg_{col}": full[f"avg_{col}"] for col in cols.values()},
        **{f"perc_tweet_{col}": full[f"perc_tweet_{col}"].fill_null(0.0) for col in cols.values()},
    }
    if extra:
        values.update(
            volume=full.volume,
            count_reposts=full.count_reposts.fill_null(0),
            count_opinions=full.count_opinions.fill_null(0),
            **{
                f"perc_opinion_{col}": full[f"perc_opinion_{col}"].fill_null(0.0)
                for col in cols.values()
            },
            engagement=full.engagement.fill_null(0),
            weighted_net=full.weighted_net,
        )
    return full.select(**{name: values[name] for name in columns}).order_by(*by, "time_window")
