"""Stage 4: load the batch outputs into the warehouse, replacing rows by key."""

from __future__ import annotations

import tweetsense.pipeline.ledger as ledgers
from tweetsense.errors import StageError
from tweetsense.pipeline.batch import outputs_for, read_manifest
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


def load(p: Pipeline) -> LoadResult:
    if read_manifest(p) is None:
        raise StageError(
            f"load: no batch outputs for query {p.query!r}; run `tweetsense batch` first"
        )
    outputs = outputs_for(p.slug)
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
    ledger = ledgers.load(p.store, p.slug)
    if ledger is not None:
        ledger.loaded = result.tweets
        ledgers.save(p.store, p.slug, ledger)
    p.progress.advance(result.windows, result.tweets)
    p.progress.finish()
    return result
