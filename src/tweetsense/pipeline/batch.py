"""Stage 3: merge staged posts with their scores and aggregate per window, on the batch engine."""

from __future__ import annotations

from dataclasses import dataclass

import orjson

import tweetsense.pipeline.batch_outputs as batch_outputs
import tweetsense.pipeline.batch_state as batch_state
import tweetsense.pipeline.ledger as ledgers
from tweetsense import faults, layout
from tweetsense.batch import spikes
from tweetsense.batch.base import BatchOutputs, BatchResult
from tweetsense.columnar import ensure_copies
from tweetsense.errors import BadInputError, StageError
from tweetsense.pipeline.analyses import analyses
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.ledger import Ledger
from tweetsense.pipeline.manifest import Manifest
from tweetsense.timeutil import Window, epoch_seconds, format_utc

MANIFEST = "_batch.json"


def outputs_for(slug: str) -> BatchOutputs:
    return BatchOutputs(
        tweets_parquet=layout.output_key(slug, "tweets.parquet"),
        windows_parquet=layout.output_key(slug, "windows.parquet"),
        tweets_csv=layout.output_key(slug, "tweets.csv"),
        windows_csv=layout.output_key(slug, "windows.csv"),
        scores_parquet=layout.output_key(slug, "tweet_scores.parquet"),
        by_analyzer_parquet=layout.output_key(slug, "sentiment_by_analyzer.parquet"),
        drivers_parquet=layout.output_key(slug, "drivers.parquet"),
        agreement_parquet=layout.output_key(slug, "analyzer_agreement.parquet"),
        spikes_parquet=layout.output_key(slug, "sentiment_spikes.parquet"),
    )


@dataclass
class BatchReport:
    result: BatchResult
    windows_in: int
    outputs: BatchOutputs
    ledger: Ledger
    insight: spikes.Found


def read_manifest(p: Pipeline) -> dict | None:
    key = layout.output_key(p.slug, MANIFEST)
    try:
        data = p.store.get(key)
    except KeyError:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BadInputError(
            f"batch manifest {p.store.uri(key)} is not valid JSON; rerun `tweetsense batch`"
        ) from None


def batch(p: Pipeline, *, allow_partial: bool = False) -> BatchReport:
    staged = p.keys(layout.STAGING)
    scored = p.keys(layout.SENTIMENT)
    ingested = Manifest.load(p.store, p.slug, p.query)
    # Found by the files' times, so that a sparse search builds keys for few windows only.
    starts = layout.window_starts(staged)
    with_file = [w for w in p.windows if w.start in starts]
    pairs = [(w, layout.staging_key(p.slug, w), layout.sentiment_key(p.slug, w)) for w in with_file]
    pairs = [pair for pair in pairs if pair[1] in staged]
    # Windows the source had nothing for: in the spine, without files to read.
    empty = [w for w in p.windows if w.start not in starts and ingested.is_empty(w)]
    if not pairs and not empty:
        raise StageError(
            f"batch: nothing is staged for query {p.query!r} in the configured time range; "
            "run `tweetsense ingest` first"
        )
    unscored = [w for w, _, sk in pairs if sk not in scored]
    if unscored and not allow_partial:
        raise StageError(
            f"batch: {len(unscored)} of {len(pairs)} staged windows have no sentiment file yet "
            f"(first: {format_utc(unscored[0].start)}); run `tweetsense consume`, "
            "or pass --allow-partial to aggregate only the scored ones"
        )
    pairs = [pair for pair in pairs if pair[2] in scored]
    spine = sorted([w for w, _, _ in pairs] + empty, key=lambda w: w.start)
    p.progress.start("batch", None)
    counted = {epoch_seconds(w.start): v for w in empty if (v := ingested.empty[w.id]) is not None}
    # The engines read the files' columnar copies; those of files written before copies
    # existed are made now, once.
    staging_copies = ensure_copies(p.store, [k for _, k, _ in pairs], _prefix(layout.STAGING, p))
    sentiment_copies = ensure_copies(
        p.store, [k for _, _, k in pairs], _prefix(layout.SENTIMENT, p)
    )
    analysis_copies = _analysis_copies(p, [w for w, _, _ in pairs])
    fields = {
        "query": p.query,
        "slug": p.slug,
        "freq_seconds": p.config.search.freq,
        "window_starts": [epoch_seconds(w.start) for w in spine],
        "driver_min_count": p.config.insight.driver_min_count,
        "volumes": sorted(counted.items()),
        "analyzers": [a.name for a in analyses(p.config)] if empty else [],
    }
    basis = {k: fields[k] for k in ("query", "freq_seconds", "driver_min_count")}
    scratch = p.engine.scratch(p.context.data_dir)
    plan = batch_state.plan(
        p.store,
        p.slug,
        _previous(p),
        basis=basis,
        spine=fields["window_starts"],
        volumes=counted,
        empty_analyzers=fields["analyzers"],
        staging=staging_copies,
        sentiment=sentiment_copies,
        analysis=analysis_copies,
        freq_seconds=p.config.search.freq,
        scratch=scratch,
    )
    outputs = outputs_for(p.slug)
    # Without a manifest `load` refuses to run, so a crash between the two outputs can never
    # have a mismatched tweets/windows pair loaded; and the next batch recomputes everything.
    p.store.delete(layout.output_key(p.slug, MANIFEST))
    faults.point("batch.engine.before")
    if plan.affected is None:
        # The state just gathered every file's keys and scores into one file each: the engine
        # reads those, and the staging copies only for what the state leaves out (texts).
        result = p.engine.run(plan.inputs(p.store, **fields), outputs, p.store)
    else:
        part = batch_outputs.under(outputs, batch_state.state_key(p.slug, plan.generation, "part"))
        ledger_rows = p.engine.run(plan.inputs(p.store, **fields), part, p.store).ledger
        csv = getattr(getattr(p.engine, "settings", None), "csv", True)
        batch_outputs.merge(p.store, outputs, part, plan.affected, csv=csv, scratch=scratch)
        labels, n_windows = batch_outputs.label_counts(p.store, outputs, scratch)
        result = BatchResult(sum(labels.values()), n_windows, labels, ledger_rows)
    spikes_before = _read_or_none(p, outputs.spikes_parquet)
    # Few rows (one per window), the same step after either engine: equal spikes by design.
    found = spikes.write(p.store, outputs.windows_parquet, outputs.spikes_parquet, p.config.insight)
    delta = None
    if plan.affected is not None:
        changed = set(plan.affected) | batch_outputs.changed_spikes(
            p.store, spikes_before, outputs.spikes_parquet
        )
        windows = sorted(changed)
        batch_outputs.write_delta(
            p.store, outputs, batch_outputs.delta_outputs(outputs, p.slug), windows, scratch
        )
        delta = {"base": plan.base, "windows": windows}
    faults.point("batch.manifest.before")
    manifest = {
        "query": p.query,
        "freq_seconds": p.config.search.freq,
        "engine": p.config.batch.type,
        "tweets": result.tweets,
        "windows": result.windows,
        "volume": found.volume,
        "spikes": len(found.spikes),
        "label_counts": result.label_counts,
        "window_ids": [w.id for w in spine],
        # What the next batch needs to recompute only what changed (``batch_state``).
        "generation": plan.generation,
        "state_format": batch_state.FORMAT,
        "basis": basis,
        "spine": fields["window_starts"],
        "volumes": fields["volumes"],
        "analyzers": plan.analyzers,
        "recomputed": len(spine) if plan.affected is None else len(plan.affected),
        "delta": delta,
    }
    ledger = _ledger(p, ingested, result, unscored, staged)
    ledgers.save(p.store, p.slug, ledger)
    p.store.put(layout.output_key(p.slug, MANIFEST), orjson.dumps(manifest))
    batch_state.forget_older(p.store, p.slug, plan.generation)
    p.progress.advance(len(spine), result.tweets)
    p.progress.finish()
    return BatchReport(result, len(spine), outputs, ledger, found)


def _analysis_copies(p: Pipeline, windows: list[Window]) -> list[str]:
    """The copies of the other analyzers' sentiment files of the windows batched; a window an
    analyzer has not scored (yet) just has no rows of it."""
    copies = []
    for other in analyses(p.config)[1:]:
        prefix = other.prefix(p.slug)
        done = set(p.store.list(prefix))
        keys = [k for w in windows if (k := other.key(p.slug, w)) in done]
        copies.extend(ensure_copies(p.store, keys, prefix))
    return copies


def _previous(p: Pipeline) -> dict | None:
    """The last batch's manifest, if it can be read: an unreadable one means recomputing."""
    try:
        return read_manifest(p)
    except BadInputError:
        return None


def _read_or_none(p: Pipeline, key: str) -> bytes | None:
    try:
        return p.store.get(key)
    except KeyError:
        return None


def _prefix(top: str, p: Pipeline) -> str:
    return f"{top}/{p.slug}"


def _ledger(
    p: Pipeline,
    manifest: Manifest,
    result: BatchResult,
    left_out: list[Window],
    staged: set[str],
) -> Ledger:
    unscored = {w: int(manifest.windows.get(w.id, {}).get("posts", 0)) for w in left_out}
    # A window fetched empty after it was set aside has been fetched since, like a staged one.
    fetched = [w for w in p.windows if not manifest.is_empty(w)]
    quarantined = ledgers.quarantined_posts(p.store, p.slug, fetched, staged)
    dead = sum(1 for k in p.store.list(layout.DEAD_LETTERS) if p.slug in k)
    bad = ledgers.bad_records(p.store, p.slug)
    api_errors = manifest.api_errors(p.windows)
    return ledgers.build(result.ledger, unscored, quarantined, dead, bad, api_errors)
