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

from tweetsense import columnar, layout
from tweetsense.batch.base import BatchInputs
from tweetsense.errors import BadInputError
from tweetsense.staging.base import Store
from tweetsense.timeutil import Window

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import DataFrame, SparkSession


def _read(session: SparkSession, uris: list[str], schema: pa.Schema) -> DataFrame:
    import pyarrow as pa

    if not uris:  # a batch of windows without files
        return session.createDataFrame(pa.Table.from_pylist([], schema=schema))
    return session.read.parquet(*uris)


def _scores(sentiment: DataFrame) -> DataFrame:
    return sentiment.filter("position > 0").select(
        "tweet_id",
        "label",
        "positive",
        "negative",
        "neutral",
        "mixed",
        "analyzer",
        "file_order",
        "position",
    )


def read_inputs(session: SparkSession, inputs: BatchInputs) -> dict[str, DataFrame]:
    """The tables of ``job.INPUT_SCHEMAS``, lazily: Spark reads the files when they run."""
    import pyarrow as pa
    from pyspark.sql import functions as F

    staging = _read(session, inputs.staging_uris, columnar.STAGING)
    posts = staging.filter("kind = 'post'")
    tweets = posts.select(
        F.col("id").alias("tweet_id"),
        # A malformed time becomes null (the ledger counts it), as DuckDB's TRY_CAST does.
        F.expr("try_cast(created_at AS TIMESTAMP)").alias("created_at"),
        "text",
        "note_text",
        "retweeted_id",
        "author_id",
        "lang",
        "conversation_id",
        F.col("referenced_json").alias("referenced_tweets"),
        "post_type",
        "like_count",
        F.col("retweet_count").alias("repost_count"),
        "reply_count",
        "quote_count",
        "drivers",
        "terms",
        "file_order",
        "position",
    )
    versions = posts.select(
        F.col("id").alias("tweet_id"),
        F.posexplode("edit_history_tweet_ids").alias("version_no", "version_id"),
        "file_order",
        "position",
    ).select(
        "tweet_id",
        "version_id",
        (F.col("version_no").cast("long") + 1).alias("version_no"),
        "file_order",
        "position",
    )
    referenced = staging.filter("kind = 'included'").select(
        F.col("id").alias("tweet_id"), "text", "note_text", "file_order", "position"
    )
    users = staging.filter("kind = 'user'").select(
        F.col("id").alias("user_id"),
        "username",
        "name",
        "verified",
        "location",
        "file_order",
        "position",
    )
    volumes = staging.filter("kind = 'window'").select("file_order", "volume")
    if inputs.volumes:
        starts, counts = zip(*inputs.volumes, strict=True)
        counted = pa.table(
            {"file_order": pa.array(starts, pa.int64()), "volume": pa.array(counts, pa.int64())}
        )
        volumes = volumes.unionByName(session.createDataFrame(counted))
    sentiment = _read(session, inputs.sentiment_uris, columnar.SENTIMENT)
    scores = _scores(sentiment)
    analyzers = sentiment.select("analyzer").distinct()
    if inputs.analyzers:
        names = pa.table({"analyzer": pa.array(inputs.analyzers, pa.string())})
        analyzers = analyzers.union(session.createDataFrame(names))
    if inputs.analysis_uris:
        analysis = _read(session, inputs.analysis_uris, columnar.SENTIMENT)
        analysis_scores = _scores(analysis)
        analyzers = analyzers.union(analysis.select("analyzer").distinct())
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
            local = os.path.join(folder, f"{kind}-{i:06d}.parquet")
            out.append(_copy(store, columnar.copy_key(key), uris[i], local))
    analysis = [
        _copy(
            store,
            _analysis_key(inputs, store, uri),
            uri,
            os.path.join(folder, f"analysis-{i:06d}.parquet"),
        )
        for i, uri in enumerate(inputs.analysis_uris)
    ]
    return dataclasses.replace(
        inputs, staging_uris=staging, sentiment_uris=sentiment, analysis_uris=analysis
    )


def _analysis_key(inputs: BatchInputs, store: Store, uri: str) -> str:
    """The store key of another analyzer's sentiment copy, checked against ``layout``."""
    prefix = columnar.copy_key(layout.ANALYSES).removesuffix(".parquet")
    root = store.uri(prefix)
    key = prefix + uri[len(root) :] if uri.startswith(root + "/") else ""
    name = key.split("/")[2] if key.count("/") > 2 else ""
    start = layout.window_start_from_key(key)
    if not name or start is None:
        return ""
    window = Window.containing(start, inputs.freq_seconds)
    expected = columnar.copy_key(layout.sentiment_key(inputs.slug, window, name))
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
