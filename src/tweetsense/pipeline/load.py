"""Stage 4: load the batch outputs into the warehouse, replacing rows by key."""

from __future__ import annotations

import tweetsense.pipeline.ledger as ledgers
from tweetsense.errors import StageError
from tweetsense.pipeline.batch import outputs_for, read_manifest
from tweetsense.pipeline.core import Pipeline
from tweetsense.warehouse.base import LoadResult


def load(p: Pipeline) -> LoadResult:
    if read_manifest(p) is None:
        raise StageError(
            f"load: no batch outputs for query {p.query!r}; run `tweetsense batch` first"
        )
    outputs = outputs_for(p.slug)
    p.progress.start("load", None)
    result = p.warehouse.load(
        p.query, p.store.uri(outputs.tweets_parquet), p.store.uri(outputs.windows_parquet)
    )
    ledger = ledgers.load(p.store, p.slug)
    if ledger is not None:
        ledger.loaded = result.tweets
        ledgers.save(p.store, p.slug, ledger)
    p.progress.advance(result.windows, result.tweets)
    p.progress.finish()
    return result
