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

from tweetsense import columnar
from tweetsense.batch.base import BatchInputs
from tweetsense.errors import BadInputError
from tweetsense.staging.base import Store

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
    indexed = (
        staging if inputs.key_uris is None else _read(session, inputs.key_uris, columnar.STAGING)
    )
    posts = indexed.filter("kind = 'post'")
    # A malformed time becomes null (the ledger counts it), as DuckDB's TRY_CAST does.
    created_at = F.expr("try_cast(created_at AS TIMESTAMP)").alias("created_at")
    keys = posts.select(
        F.col("id").alias("tweet_id"),
        created_at,
        "author_id",
        "retweeted_id",
        "post_type",
        "like_count",
        F.col("retweet_count").alias("repost_count"),
        "reply_count",
        "quote_count",
        "file_order",
        "position",
    )
    tweets = staging.filter("kind = 'post'").select(
        F.col("id").alias("tweet_id"),
        created_at,
        "text",
        "note_text",
        "retweeted_id",
        "lang",
        "conversation_id",
        F.col("referenced_json").alias("referenced_tweets"),
        "drivers",
        "terms",
        "file_order",
        "position",
    )
    # A post's only version supersedes nothing (``job.superseded``).
    versions = (
        posts.filter(F.size("edit_history_tweet_ids") > 1)
        .select(
            F.col("id").alias("tweet_id"),
            F.posexplode("edit_history_tweet_ids").alias("version_no", "version_id"),
            "file_order",
            "position",
        )
        .select(
            "tweet_id",
            "version_id",
            (F.col("version_no").cast("long") + 1).alias("version_no"),
            "file_order",
            "position",
        )
    )
    referenced = staging.filter("kind = 'included'").select(
        F.col("id").alias("tweet_id"), "text", "note_text", "file_order", "position"
    )
    users = indexed.filter("kind = 'user'").select(
        F.col("id").alias("user_id"),
        "username",
        "name",
        "verified",
        "location",
        "file_order",
        "position",
    )
    volumes = indexed.filter("kind = 'window'").select("file_order", "volume")
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
    affected = inputs.window_starts if inputs.affected is None else inputs.affected
    return {
        "keys": keys,
        "affected": session.createDataFrame(
            pa.table({"window_epoch": pa.array(affected, pa.int64())})
        ),
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
    """The same inputs with every file copied through ``store`` into ``folder``: how a local
    Spark reads a store whose URIs its JVM has no file system for (s3:// without the Hadoop AWS
    jars)."""
    os.makedirs(folder, exist_ok=True)
    root = store.uri("x")[:-1]
    copied: dict[str, str] = {}

    def local(uris: list[str]) -> list[str]:
        paths = []
        for uri in uris:
            if uri not in copied:
                path = os.path.join(folder, f"{len(copied):06d}.parquet")
                copied[uri] = _copy(store, uri.removeprefix(root), uri, path)
            paths.append(copied[uri])
        return paths

    return dataclasses.replace(
        inputs,
        staging_uris=local(inputs.staging_uris),
        sentiment_uris=local(inputs.sentiment_uris),
        analysis_uris=local(inputs.analysis_uris),
        key_uris=None if inputs.key_uris is None else local(inputs.key_uris),
    )


def _copy(store: Store, key: str, uri: str, path: str) -> str:
    """Copies ``key``, whose URI must be ``uri``, to the local ``path``."""
    if not key or store.uri(key) != uri:
        raise BadInputError(
            f"batch: {uri} is not a file of this store; set batch.master "
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
