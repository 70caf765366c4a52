"""Spark reads of the window files into the job's flat input tables, and single-file outputs.

The tables match ``job.INPUT_SCHEMAS`` and the DuckDB engine's reads: ``file_order`` is the
window file's start in epoch seconds and ``position`` the 1-based place in it (page number
times a million plus the place in the page), so "latest wins" picks the same rows.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from typing import TYPE_CHECKING

from tweetsense import layout
from tweetsense.batch.base import BatchInputs
from tweetsense.errors import BadInputError
from tweetsense.staging.base import Store
from tweetsense.timeutil import Window

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

_USER = "STRUCT<id: STRING, username: STRING, name: STRING, verified: BOOLEAN, location: STRING>"
_NOTE = "note_tweet: STRUCT<text: STRING>"
_TWEET = (
    f"STRUCT<id: STRING, text: STRING, {_NOTE}, created_at: STRING, author_id: STRING, "
    "lang: STRING, conversation_id: STRING, "
    "referenced_tweets: ARRAY<STRUCT<type: STRING, id: STRING>>, "
    "edit_history_tweet_ids: ARRAY<STRING>, "
    "public_metrics: STRUCT<like_count: BIGINT, retweet_count: BIGINT, reply_count: BIGINT, "
    "quote_count: BIGINT>, "
    "entities: STRUCT<annotations: ARRAY<STRUCT<normalized_text: STRING>>, "
    "hashtags: ARRAY<STRUCT<tag: STRING>>, mentions: ARRAY<STRUCT<username: STRING>>, "
    "urls: ARRAY<STRUCT<url: STRING, expanded_url: STRING>>>, "
    "context_annotations: ARRAY<STRUCT<entity: STRUCT<name: STRING>>>>"
)
_INCLUDED = f"STRUCT<id: STRING, text: STRING, {_NOTE}>"
_STAGING = (
    f"window_start STRING, volume BIGINT, pages ARRAY<STRUCT<data: ARRAY<{_TWEET}>, "
    f"includes: STRUCT<users: ARRAY<{_USER}>, tweets: ARRAY<{_INCLUDED}>>>>"
)
_SCORE = (
    "STRUCT<tweet_id: STRING, label: STRING, positive: DOUBLE, negative: DOUBLE, "
    "neutral: DOUBLE, mixed: DOUBLE>"
)
_SENTIMENT = f"window_start STRING, analyzer STRING, scores ARRAY<{_SCORE}>"


def _read_json(session: SparkSession, schema: str, uris: list[str]) -> DataFrame:
    if not uris:  # a batch of windows without files
        return session.createDataFrame([], schema)
    # Each file is one JSON document; a malformed one fails the job instead of becoming nulls.
    return (
        session.read.schema(schema).option("multiLine", True).option("mode", "FAILFAST").json(uris)
    )


def _epoch(column: str) -> Column:
    from pyspark.sql import functions as F

    return F.unix_seconds(F.col(column).cast("timestamp"))


def _position(page_no: str, pos: str) -> Column:
    from pyspark.sql import functions as F

    return (F.col(page_no).cast("long") + 1) * 1_000_000 + F.col(pos).cast("long") + 1


def _scores(sentiment: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return sentiment.select(
        _epoch("window_start").alias("file_order"),
        "analyzer",
        F.posexplode("scores").alias("pos", "sc"),
    ).select(
        F.col("sc.tweet_id").alias("tweet_id"),
        F.col("sc.label").alias("label"),
        F.col("sc.positive").alias("positive"),
        F.col("sc.negative").alias("negative"),
        F.col("sc.neutral").alias("neutral"),
        F.col("sc.mixed").alias("mixed"),
        "analyzer",
        "file_order",
        (F.col("pos").cast("long") + 1).alias("position"),
    )


def _mentioned(posts: DataFrame) -> DataFrame:
    """What each post row names (``job.INPUT_SCHEMAS['mentioned']``), as the DuckDB engine
    flattens it."""
    from pyspark.sql import functions as F

    row = ["tweet_id", "file_order", "position"]
    flat = posts.select(
        F.col("tw.id").alias("tweet_id"),
        "file_order",
        _position("page_no", "pos").alias("position"),
        F.col("tw.entities").alias("e"),
        F.col("tw.context_annotations").alias("c"),
    )
    parts = [
        ("entity", "e.annotations", "normalized_text"),
        ("entity", "c", "entity.name"),
        ("hashtag", "e.hashtags", "tag"),
        ("mention", "e.mentions", "username"),
        ("url", "e.urls", None),
    ]
    frames = []
    for kind, array, field in parts:
        item = flat.select(*row, F.explode(array).alias("x"))
        value = (
            F.coalesce(F.col("x.expanded_url"), F.col("x.url"))
            if field is None
            else F.col(f"x.{field}")
        )
        frames.append(
            item.select("tweet_id", F.lit(kind).alias("kind"), value.alias("term"), *row[1:])
        )
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out


def read_inputs(session: SparkSession, inputs: BatchInputs) -> dict[str, DataFrame]:
    """The tables of ``job.INPUT_SCHEMAS``, lazily: Spark reads the files when they run."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    staging = _read_json(session, _STAGING, inputs.staging_uris)
    pages = staging.select(
        _epoch("window_start").alias("file_order"),
        F.posexplode("pages").alias("page_no", "page"),
    )
    posts = pages.select("file_order", "page_no", F.posexplode("page.data").alias("pos", "tw"))
    tweets = posts.select(
        F.col("tw.id").alias("tweet_id"),
        # A malformed time becomes null (the ledger counts it), as DuckDB's TRY_CAST does.
        F.expr("try_cast(tw.created_at AS TIMESTAMP)").alias("created_at"),
        F.col("tw.text").alias("text"),
        F.col("tw.note_tweet.text").alias("note_text"),
        F.expr(
            "try_element_at(filter(tw.referenced_tweets, r -> r.type = 'retweeted'), 1).id"
        ).alias("retweeted_id"),
        F.col("tw.author_id").alias("author_id"),
        F.col("tw.lang").alias("lang"),
        F.col("tw.conversation_id").alias("conversation_id"),
        # Null struct fields are written out, as DuckDB's to_json does.
        F.to_json("tw.referenced_tweets", {"ignoreNullFields": "false"}).alias("referenced_tweets"),
        F.expr(
            "CASE WHEN exists(tw.referenced_tweets, r -> r.type = 'retweeted') THEN 'repost' "
            "WHEN exists(tw.referenced_tweets, r -> r.type = 'quoted') THEN 'quote' "
            "WHEN exists(tw.referenced_tweets, r -> r.type = 'replied_to') THEN 'reply' "
            "ELSE 'original' END"
        ).alias("post_type"),
        F.col("tw.public_metrics.like_count").alias("like_count"),
        F.col("tw.public_metrics.retweet_count").alias("repost_count"),
        F.col("tw.public_metrics.reply_count").alias("reply_count"),
        F.col("tw.public_metrics.quote_count").alias("quote_count"),
        "file_order",
        _position("page_no", "pos").alias("position"),
    )
    versions = posts.select(
        F.col("tw.id").alias("tweet_id"),
        F.posexplode("tw.edit_history_tweet_ids").alias("version_no", "version_id"),
        "file_order",
        _position("page_no", "pos").alias("position"),
    ).select(
        "tweet_id",
        "version_id",
        (F.col("version_no").cast("long") + 1).alias("version_no"),
        "file_order",
        "position",
    )
    mentioned = _mentioned(posts)
    referenced = pages.select(
        "file_order", "page_no", F.posexplode("page.includes.tweets").alias("pos", "tw")
    ).select(
        F.col("tw.id").alias("tweet_id"),
        F.col("tw.text").alias("text"),
        F.col("tw.note_tweet.text").alias("note_text"),
        "file_order",
        _position("page_no", "pos").alias("position"),
    )
    users = pages.select(
        "file_order", "page_no", F.posexplode("page.includes.users").alias("pos", "us")
    ).select(
        F.col("us.id").alias("user_id"),
        F.col("us.username").alias("username"),
        F.col("us.name").alias("name"),
        F.col("us.verified").alias("verified"),
        F.col("us.location").alias("location"),
        "file_order",
        _position("page_no", "pos").alias("position"),
    )
    volumes = staging.select(_epoch("window_start").alias("file_order"), "volume")
    if inputs.volumes:
        starts, counts = zip(*inputs.volumes, strict=True)
        counted = pa.table(
            {"file_order": pa.array(starts, pa.int64()), "volume": pa.array(counts, pa.int64())}
        )
        volumes = volumes.unionByName(session.createDataFrame(counted))
    sentiment = _read_json(session, _SENTIMENT, inputs.sentiment_uris)
    scores = _scores(sentiment)
    analyzers = sentiment.select("analyzer")
    if inputs.analyzers:
        names = pa.table({"analyzer": pa.array(inputs.analyzers, pa.string())})
        analyzers = analyzers.union(session.createDataFrame(names))
    if inputs.analysis_uris:
        analysis = _read_json(session, _SENTIMENT, inputs.analysis_uris)
        analysis_scores = _scores(analysis)
        analyzers = analyzers.union(analysis.select("analyzer"))
    else:
        analysis_scores = scores.limit(0)
    # From Arrow it is a local relation, so no Python worker process has to start for it.
    windows = session.createDataFrame(
        pa.table({"window_epoch": pa.array(inputs.window_starts, pa.int64())})
    )
    return {
        "tweets": tweets,
        "users": users,
        "scores": scores,
        "analysis_scores": analysis_scores,
        "analyzers": analyzers,
        "referenced": referenced,
        "versions": versions,
        "windows": windows,
        "volumes": volumes,
        "mentioned": mentioned,
    }


def is_remote(uri: str) -> bool:
    return "://" in uri and not uri.startswith("file://")


def copy_to_local(inputs: BatchInputs, store: Store, folder: str) -> BatchInputs:
    """The same inputs with every window file copied through ``store`` into ``folder``: how a
    local Spark reads a store whose URIs its JVM has no file system for (s3:// without the
    Hadoop AWS jars)."""
    staging, sentiment = [], []
    os.makedirs(folder, exist_ok=True)
    for i, uri in enumerate(inputs.staging_uris):
        # The windows with files, in the order of the URIs (``window_starts`` has empty ones).
        start = layout.window_start_from_key(uri)
        if start is None:
            raise BadInputError(
                f"batch: {uri} is not a window file of this store; set batch.master "
                "to a cluster that can read it"
            )
        window = Window.containing(start, inputs.freq_seconds)
        for kind, key, uris, out in (
            ("staging", layout.staging_key(inputs.slug, window), inputs.staging_uris, staging),
            (
                "sentiment",
                layout.sentiment_key(inputs.slug, window),
                inputs.sentiment_uris,
                sentiment,
            ),
        ):
            out.append(_copy(store, key, uris[i], os.path.join(folder, f"{kind}-{i:06d}.json")))
    analysis = [
        _copy(
            store,
            _analysis_key(inputs, store, uri),
            uri,
            os.path.join(folder, f"analysis-{i:06d}.json"),
        )
        for i, uri in enumerate(inputs.analysis_uris)
    ]
    return dataclasses.replace(
        inputs, staging_uris=staging, sentiment_uris=sentiment, analysis_uris=analysis
    )


def _analysis_key(inputs: BatchInputs, store: Store, uri: str) -> str:
    """The store key of another analyzer's sentiment file, checked against ``layout``."""
    root = store.uri(layout.ANALYSES)
    key = layout.ANALYSES + uri[len(root) :] if uri.startswith(root + "/") else ""
    name = key.split("/")[1] if key.count("/") > 1 else ""
    start = layout.window_start_from_key(key)
    if not name or start is None:
        return ""
    window = Window.containing(start, inputs.freq_seconds)
    expected = layout.sentiment_key(inputs.slug, window, name)
    return expected if key == expected else ""


def _copy(store: Store, key: str, uri: str, path: str) -> str:
    """Copies ``key``, whose URI must be ``uri``, to the local ``path``."""
    if not key or store.uri(key) != uri:
        raise BadInputError(
            f"batch: {uri} is not a window file of this store; set batch.master "
            "to a cluster that can read it"
        )
    try:
        data = store.get(key)
    except KeyError:
        raise BadInputError(f"batch: {uri} has gone; rerun ingest/consume for its window") from None
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def write_single_file(session: SparkSession, directory: str, target: str) -> None:
    """Move the one data file Spark wrote under ``directory`` (any Hadoop file system) to the
    local path ``target``."""
    jvm = session.sparkContext._jvm
    hadoop_conf = session.sparkContext._jsc.hadoopConfiguration()
    folder = jvm.org.apache.hadoop.fs.Path(directory)
    fs = folder.getFileSystem(hadoop_conf)
    parts = [s.getPath() for s in fs.globStatus(jvm.org.apache.hadoop.fs.Path(folder, "part-*"))]
    if len(parts) != 1:
        raise RuntimeError(f"expected one data file under {directory}, found {len(parts)}")
    source = parts[0]
    if fs.getScheme() == "file":
        local = source.toUri().getPath()
        try:
            os.replace(local, target)
        except OSError:  # another device: copy instead
            shutil.copyfile(local, target)
    else:
        fs.copyToLocalFile(False, source, jvm.org.apache.hadoop.fs.Path(target), True)
