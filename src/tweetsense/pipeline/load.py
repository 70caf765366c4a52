"""Stage 4: load the batch outputs into the warehouse, replacing rows by key."""

from __future__ import annotations

import hashlib

import orjson

import tweetsense.pipeline.ledger as ledgers
from tweetsense import layout
from tweetsense.errors import StageError
from tweetsense.pipeline.batch import outputs_for, read_manifest
from tweetsense.pipeline.batch_outputs import delta_outputs
from tweetsense.pipeline.core import Pipeline
from tweetsense.warehouse.base import LoadResult
from tweetsense.warehouse.schema import (
    AGREEMENT,
    DRIVER,
    SENTIMENT,
    SENTIMENT_BY_ANALYZER,
    SENTIMENT_SPIKE,
    TWEET,
    TWEET_SCORE,
)

LOADED = "_loaded.json"


def load(p: Pipeline) -> LoadResult:
    manifest = read_manifest(p)
    if manifest is None:
        raise StageError(
            f"load: no batch outputs for query {p.query!r}; run `tweetsense batch` first"
        )
    outputs = outputs_for(p.slug)
    if _has_base(p, manifest):
        # The warehouse holds the outputs this batch updated: replace the windows it changed.
        outputs = delta_outputs(outputs, p.slug)
    files = {TWEET.name: outputs.tweets_parquet, SENTIMENT.name: outputs.windows_parquet}
    # Outputs of a batch from before the analysis or insight tables have no files for them.
    for table, key in (
        (TWEET_SCORE, outputs.scores_parquet),
        (SENTIMENT_BY_ANALYZER, outputs.by_analyzer_parquet),
        (AGREEMENT, outputs.agreement_parquet),
        (DRIVER, outputs.drivers_parquet),
        (SENTIMENT_SPIKE, outputs.spikes_parquet),
    ):
        if p.store.exists(key):
            files[table.name] = key
    p.progress.start("load", None)
    result = p.warehouse.load(p.query, {name: p.store.uri(key) for name, key in files.items()})
    mark = {"generation": manifest.get("generation"), "warehouse": _warehouse_id(p)}
    p.store.put(layout.output_key(p.slug, LOADED), orjson.dumps(mark))
    ledger = ledgers.load(p.store, p.slug)
    if ledger is not None:
        ledger.loaded = result.tweets
        ledgers.save(p.store, p.slug, ledger)
    p.progress.advance(result.windows, result.tweets)
    p.progress.finish()
    return result


def _has_base(p: Pipeline, manifest: dict) -> bool:
    """Whether this warehouse was last loaded with the outputs the batch updated, and still
    holds their windows (a warehouse emptied since gets everything)."""
    delta = manifest.get("delta")
    if not delta:
        return False
    try:
        mark = orjson.loads(p.store.get(layout.output_key(p.slug, LOADED)))
    except (KeyError, orjson.JSONDecodeError):
        return False
    if mark != {"generation": delta.get("base"), "warehouse": _warehouse_id(p)}:
        return False
    loaded = {int(w.timestamp()) for w in p.warehouse.loaded_windows(p.query)}
    kept = set(manifest.get("spine", ())) - set(delta.get("windows", ()))
    return kept <= loaded


def _warehouse_id(p: Pipeline) -> str:
    """Which warehouse: its settings (never secrets: those are not in the config)."""
    section = p.config.warehouse.model_dump_json()
    return hashlib.sha256(f"{p.context.data_dir}|{section}".encode()).hexdigest()[:16]
