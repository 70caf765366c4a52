"""Stage 1: fetch each window's pages, stage them atomically, publish one record per window.

Resumable: a window is done when its staging file is written and the ingest manifest lists it
(see ``manifest``); a rerun skips done windows and fetches every other one from the start. A
staged window without a sentiment file is published again (the consumer skips work it has
already done), so a run killed between staging and publishing loses nothing.

Before fetching, the windows to fetch are counted once (``Source.volumes``: the true number of
matching posts, beside the sampled ones); a count that fails is a warning, and those windows are
staged without a volume. A window the source has nothing for (no post, include or error) is
not staged or published: the manifest marks it empty, with its volume. Windows are fetched by
``source.concurrency`` threads (one for a replay or the demo source writing to a local store)
and handled in time order. A budget (``max_posts``, ``max_cost``) stops the run before the
window that could pass it; an error no retry can fix (a rejected token, an invalid query) stops
it at once. Either way the finished windows are staged and listed, and the next run goes on
from there.
"""

from __future__ import annotations

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tweetsense import columnar, faults, layout, registry
from tweetsense.contracts import StagingDoc, WindowRecord
from tweetsense.errors import (
    BadInputError,
    ConfigError,
    RetryableError,
    TerminalError,
    TweetsenseError,
)
from tweetsense.layout import SOURCE_RECORDS
from tweetsense.pipeline.analyses import analyses
from tweetsense.pipeline.budget import Budget, BudgetReached
from tweetsense.pipeline.core import Pipeline
from tweetsense.pipeline.manifest import Manifest
from tweetsense.pipeline.progress import log
from tweetsense.quarantine import quarantine, write_error
from tweetsense.retry import with_retries
from tweetsense.sources.api_errors import ApiErrors
from tweetsense.sources.base import Source
from tweetsense.sources.cost import Estimate, Prices, Usage
from tweetsense.timeutil import Window, format_utc

PUBLISH_BATCH = 64
# Seconds at most that fetched records wait for a full batch: a consumer beside ingest (`run`)
# scores while the API is slow, instead of waiting for 64 windows and then for the last ones.
PUBLISH_EVERY = 1.0
# Windows submitted ahead of the oldest unfinished one, per thread: enough to keep every thread
# busy behind a slow window, few enough to bound the fetched pages waiting in memory.
AHEAD_PER_THREAD = 4
# Windows one thread fetches in a row, when no budget has to be settled window by window: a
# sparse search has many windows that return at once, and handing each between threads would
# cost more than fetching it. A run grows while its windows come back empty (they hold no
# pages in memory) up to MAX_CHUNK, and starts small again after one with posts.
CHUNK = AHEAD_PER_THREAD
MAX_CHUNK = 64
# Seconds between saves of the manifest while only empty windows come in: a save rewrites the
# whole manifest, and an empty window not yet saved is just fetched again after a crash.
SAVE_EVERY = 5.0


@dataclass
class IngestReport:
    windows: int = 0
    fetched: int = 0  # windows fetched by this run
    skipped: int = 0  # windows staged and scored before: nothing to do
    republished: int = 0  # windows staged before, not yet scored: published again
    adopted: int = 0
    tweets: int = 0  # posts fetched by this run
    republished_tweets: int = 0  # posts of the windows published again (staged before)
    failed: list[tuple[Window, str]] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped before the last window ("budget")
    left: int = 0  # windows not fetched because the run stopped
    used: Usage = field(default_factory=Usage)
    cost: float | None = None
    api_errors: ApiErrors = field(default_factory=ApiErrors)  # in the pages fetched by this run
    counted: int = 0  # windows fetched by this run that were staged with a volume

    @property
    def published_tweets(self) -> int:
        """Posts this run published: fetched now or staged before (what its progress counts)."""
        return self.tweets + self.republished_tweets


@dataclass
class _Fetched:
    message: tuple[str, bytes] | None  # None: an empty window, nothing staged to publish
    count: int
    volume: int | None
    usage: Usage
    pages: int
    errors: ApiErrors


@dataclass
class IngestPlan:
    """What a run would fetch; built without a request (``tweetsense ingest --dry-run``)."""

    windows: int
    done: int
    to_fetch: int
    per_window: int | None
    source: str
    estimate: Estimate | None = None  # None: the source has no cost model


def _record(doc: StagingDoc, slug: str, key: str) -> tuple[str, bytes]:
    record = WindowRecord(doc.query, slug, doc.window, key, doc.tweet_texts())
    return record.key, record.encode()


def _fetch_and_stage(
    p: Pipeline, source: Source, window: Window, volume: int | None
) -> _Fetched | str:
    """Stage one window; returns what to publish and count, or why it failed."""
    search = p.config.search
    try:
        pages = source.fetch_window(search.query, window, search.max_per_window)
    except RetryableError as exc:
        return str(exc)
    set_aside = source.set_aside()
    for record in set_aside:
        quarantine(p.store, SOURCE_RECORDS, p.slug, record.name, record.payload, record.reason)
    if not set_aside and _is_empty(pages):
        return _Fetched(None, 0, volume, Usage.of_pages(pages), len(pages), ApiErrors())
    doc = StagingDoc(search.query, window, p.config.source.type, pages, volume)
    key = layout.staging_key(p.slug, window)
    try:
        # Checked before staging: a window whose posts cannot be read is never marked done.
        message = _record(doc, p.slug, key)
    except BadInputError as exc:
        quarantine(p.store, "ingest", p.slug, window.id, pages, str(exc))
        return str(exc)
    columnar.put_staging(p.store, key, doc)
    faults.point("ingest.staged")
    return _Fetched(
        message,
        doc.tweet_count,
        volume,
        Usage.of_pages(pages),
        len(pages),
        ApiErrors.of_pages(pages),
    )


def _is_empty(pages: list[Any]) -> bool:
    """Nothing in any page that the batch would read: no post, include or error."""
    return all(
        isinstance(page, dict)
        and not (page.get("data") or page.get("includes") or page.get("errors"))
        for page in pages
    )


def _fetch_and_stage_all(
    p: Pipeline, source: Source, windows: list[Window], volumes: dict[str, int]
) -> list[_Fetched | str]:
    """``_fetch_and_stage`` for consecutive windows, in order, on one thread."""
    return [_fetch_and_stage(p, source, w, volumes.get(w.id) if volumes else None) for w in windows]


def _budget(
    p: Pipeline, source: Source, max_posts: int | None, max_cost: float | None
) -> Budget | None:
    """The run's budget: the CLI's limits, else the config's ``source.max_posts/max_cost``."""
    section = p.config.source
    max_posts = section.max_posts if max_posts is None else max_posts
    max_cost = section.max_cost if max_cost is None else max_cost
    if max_posts is None and max_cost is None:
        return None
    prices = source.prices
    if max_cost is not None and prices is None:
        raise ConfigError(
            f"max_cost: the {section.type} source has no prices; use max_posts instead"
        )
    return Budget(max_posts, max_cost, prices or Prices(), p.config.search.max_per_window)


def _done_windows(
    p: Pipeline, manifest: Manifest, staged: set[str], refetch: bool
) -> tuple[set[Window], int]:
    """Windows with a staging file and a manifest entry, or marked empty, and how many staging
    files without an entry were taken in (they are whole: staging writes are atomic)."""
    done: set[Window] = set()
    adopted = 0
    if refetch:
        return done, adopted
    starts = layout.window_starts(staged)
    for window in p.windows:
        if window.start not in starts:  # compared by time: a sparse search has few files
            if manifest.is_empty(window):
                done.add(window)
            else:
                manifest.discard(window)
            continue
        key = layout.staging_key(p.slug, window)
        if window not in manifest:
            try:
                doc = StagingDoc.decode(p.store.get(key), what=f"staging file {p.store.uri(key)}")
            except BadInputError as exc:
                log.warning("refetching window %s: %s", window.id, exc)
                continue
            usage = Usage.of_pages(doc.pages)
            manifest.add(
                window,
                source=doc.source,
                posts=usage.posts,
                users=usage.users,
                pages=len(doc.pages),
                api_errors=ApiErrors.of_pages(doc.pages),
            )
            adopted += 1
        done.add(window)
    return done, adopted


def plan(p: Pipeline, *, refetch: bool = False) -> IngestPlan:
    """Windows, and the source's estimate of requests, posts, cost and time; no request."""
    section = p.config.source
    cls: type[Source] = registry.backend_class("source", section.type)
    settings = registry.settings_for("source", section)
    staged = set() if refetch else p.keys(layout.STAGING)
    empty = set() if refetch else Manifest.load(p.store, p.slug, p.query).empty
    done = sum(1 for w in p.windows if layout.staging_key(p.slug, w) in staged or w.id in empty)
    to_fetch = len(p.windows) - done
    est = cls.estimate(settings, p.config.search, to_fetch)
    return IngestPlan(
        len(p.windows), done, to_fetch, p.config.search.max_per_window, section.type, est
    )


def ingest(
    p: Pipeline,
    *,
    refetch: bool = False,
    max_posts: int | None = None,
    max_cost: float | None = None,
) -> IngestReport:
    """Sorts the windows, publishes the done ones again where needed, fetches the others, and
    reports; raises ``BudgetReached`` when a budget stopped the run."""
    manifest = Manifest.load(p.store, p.slug, p.query)
    report = IngestReport(windows=len(p.windows))
    staged = p.keys(layout.STAGING)
    to_fetch, to_republish = _sort_windows(p, manifest, staged, refetch, report)
    run = _Run(p, manifest, report, staged)
    p.progress.start("ingest", len(to_fetch) + len(to_republish))
    run.republish(to_republish)
    if not to_fetch:
        run.publish(force=True)
        p.progress.finish()
        return report
    source = p.source  # built once, before threads share it
    budget = _budget(p, source, max_posts, max_cost)
    volumes = _count(p, source, list(to_fetch), budget, report)
    to_fetch = _accept_known_empty(run, source, to_fetch, volumes)
    _fetch(run, source, budget, to_fetch, volumes)
    _close_report(report, source, budget, left=len(to_fetch))
    p.progress.finish()
    if report.stopped:
        raise _budget_reached(report)
    return report


def _count(
    p: Pipeline, source: Source, windows: list[Window], budget: Budget | None, report: IngestReport
) -> dict[str, int]:
    """The volume of each window the source could count; counting that fails costs the
    volumes only, never the posts."""
    try:
        volumes = source.volumes(p.config.search.query, windows) or {}
    except TweetsenseError as exc:
        log.warning(
            "volumes not counted, the windows are staged without one: %s; fix that and "
            "refetch to count them, or set source.counts: false to stop counting",
            exc,
        )
        volumes = {}
    # Charged whatever came of it: the requests answered are billed.
    used = Usage(counts=source.count_requests)
    report.used.add(used)
    if budget is not None:
        budget.used.add(used)
    return volumes


def _sort_windows(
    p: Pipeline, manifest: Manifest, staged: set[str], refetch: bool, report: IngestReport
) -> tuple[deque[Window], list[Window]]:
    """The windows to fetch, and the done ones whose records to publish again (some analyzer
    has no sentiment file for it yet); the other done windows, empty ones among them, are
    counted as skipped."""
    every = analyses(p.config)
    scored = {k for a in every for k in p.store.list(a.prefix(p.slug))}
    done, report.adopted = _done_windows(p, manifest, staged, refetch)
    to_fetch: deque[Window] = deque()
    to_republish: list[Window] = []
    for window in p.windows:
        if window not in done:
            to_fetch.append(window)
        elif window in manifest and any(a.key(p.slug, window) not in scored for a in every):
            to_republish.append(window)
        else:
            report.skipped += 1
    return to_fetch, to_republish


class _Run:
    """One run's shared state: the manifest, the records waiting to be published, the report.
    Only the main thread touches it; the fetch threads just stage."""

    def __init__(
        self, p: Pipeline, manifest: Manifest, report: IngestReport, staged: set[str]
    ) -> None:
        self.p = p
        self.manifest = manifest
        self.report = report
        # The staging files a refetch that finds their window empty removes.
        self.staged = layout.window_starts(staged)
        self.pending: list[tuple[str, bytes]] = []
        self.errors = p.keys(layout.error_dir("ingest"))  # error files a success removes
        self.saved_at = time.monotonic()
        self.published_at = time.monotonic()

    def publish(self, force: bool = False) -> None:
        """Publishes the pending records once a batch is full, PUBLISH_EVERY seconds after the
        last publish, or with ``force``; then saves the manifest that lists their windows."""
        due = force or len(self.pending) >= PUBLISH_BATCH
        if self.pending and (due or time.monotonic() - self.published_at >= PUBLISH_EVERY):
            faults.point("ingest.publish.before")
            with_retries(
                f"publishing {len(self.pending)} records", self.p.stream.publish, self.pending
            )
            faults.point("ingest.publish.after")
            self.pending.clear()
            self.published_at = time.monotonic()
            self.save()

    def save(self) -> None:
        self.manifest.save()
        self.saved_at = time.monotonic()

    def republish(self, windows: list[Window]) -> None:
        p = self.p
        for window in windows:
            key = layout.staging_key(p.slug, window)
            doc = StagingDoc.decode(p.store.get(key), what=f"staging file {p.store.uri(key)}")
            self.pending.append(_record(doc, p.slug, key))
            self.report.republished += 1
            self.report.republished_tweets += doc.tweet_count
            p.progress.advance(1, doc.tweet_count)
            self.publish()
        self.save()

    def accept(self, window: Window, fetched: _Fetched) -> None:
        p, report = self.p, self.report
        if fetched.message is None:
            self._forget_staged(window)
            self.manifest.add_empty(window, fetched.volume)
            if time.monotonic() - self.saved_at > SAVE_EVERY:
                self.save()
        else:
            self.manifest.add(
                window,
                source=p.config.source.type,
                posts=fetched.usage.posts,
                users=fetched.usage.users,
                pages=fetched.pages,
                api_errors=fetched.errors,
            )
            self.pending.append(fetched.message)
        report.fetched += 1
        report.tweets += fetched.count
        report.counted += fetched.volume is not None
        report.used.add(fetched.usage)
        if fetched.errors:
            # Staged all the same: it is what the API answered, and a rerun would get it again.
            report.api_errors.add(fetched.errors)
            log.warning("window %s: the API sent %s", window.id, fetched.errors.line())
        if self.errors and (error_key := layout.error_key("ingest", p.slug, window)) in self.errors:
            p.store.delete(error_key)

    def _forget_staged(self, window: Window) -> None:
        """A refetch found a staged window empty: its old files would outlive what it says."""
        p = self.p
        if window.start not in self.staged:
            return
        self.manifest.discard(window)
        columnar.delete(p.store, layout.staging_key(p.slug, window))
        for each in analyses(p.config):
            columnar.delete(p.store, each.key(p.slug, window))

    def reject(self, window: Window, reason: str) -> None:
        self.report.failed.append((window, reason))
        log.warning("ingest of window %s failed: %s", window.id, reason)
        write_error(
            self.p.store,
            layout.error_key("ingest", self.p.slug, window),
            stage="ingest",
            reason=reason,
            window_start=format_utc(window.start),
        )


def _accept_known_empty(
    run: _Run, source: Source, to_fetch: deque[Window], volumes: dict[str, int]
) -> deque[Window]:
    """Marks done the windows the source knows are empty; returns the others, to fetch."""
    empty = source.known_empty(run.p.config.search.query, list(to_fetch))
    if not empty:
        return to_fetch
    left: deque[Window] = deque()
    for window in to_fetch:
        if window.id in empty:
            run.accept(window, _Fetched(None, 0, volumes.get(window.id), Usage(), 0, ApiErrors()))
        else:
            left.append(window)
    run.save()
    run.p.progress.advance(len(to_fetch) - len(left), 0)
    return left


def _fetch(
    run: _Run,
    source: Source,
    budget: Budget | None,
    to_fetch: deque[Window],
    volumes: dict[str, int],
) -> None:
    """Fetches windows on ``source.concurrency`` threads and takes them in time order; stops
    before a window the budget cannot hold (``report.stopped``), leaving the windows not started
    in ``to_fetch``. The finished windows are published and listed whatever ends the loop."""
    report = run.report
    concurrency = _threads(run.p, source)
    # A budget reserves and settles each window, so it is fetched alone; chunks of windows are
    # two per thread ahead, twice the windows of single ones.
    chunk = 1 if budget is not None else CHUNK
    ahead = concurrency * (AHEAD_PER_THREAD if budget is not None else 2)
    inflight: deque[tuple[list[Window], Future[list[_Fetched | str]]]] = deque()
    with ThreadPoolExecutor(concurrency, thread_name_prefix="ingest") as pool:
        try:
            while to_fetch or inflight:
                while to_fetch and len(inflight) < ahead:
                    if budget is not None and not budget.reserve():
                        if not inflight:
                            report.stopped = "budget"
                        break  # settle the windows in flight, then try again
                    windows = [to_fetch.popleft() for _ in range(min(chunk, len(to_fetch)))]
                    future = pool.submit(_fetch_and_stage_all, run.p, source, windows, volumes)
                    inflight.append((windows, future))
                if report.stopped or not inflight:
                    break
                windows, future = inflight.popleft()
                if _take(run, budget, windows, future) and budget is None:
                    chunk = min(chunk * 2, MAX_CHUNK)
                elif budget is None:
                    chunk = CHUNK
        except BaseException as exc:
            others = _stop(source, inflight, run.accept)
            # Threads stopped by the first error fail with a plain "stopped"; report its cause.
            cause = next((e for e in (exc, *others) if isinstance(e, TerminalError)), exc)
            if cause is not exc:
                raise cause from None
            raise
        finally:
            run.publish(force=True)
            run.manifest.save()


def _threads(p: Pipeline, source: Source) -> int:
    """``source.concurrency``, except for a source that computes its pages writing to a local
    store: nothing there waits, so one thread does the same work without contending."""
    if source.cpu_bound and not p.store.remote:
        return 1
    return p.config.source.concurrency


def _take(
    run: _Run,
    budget: Budget | None,
    windows: list[Window],
    future: Future[list[_Fetched | str]],
) -> bool:
    """Waits for some windows: settles their budget reservations (a budget fetches one at a
    time), then accepts or rejects each; True when all of them were empty."""
    try:
        results = future.result()
    except BaseException:
        if budget is not None:
            budget.settle(None)
        raise
    empty = True
    for window, result in zip(windows, results, strict=True):
        if budget is not None:
            budget.settle(result.usage if isinstance(result, _Fetched) else None)
        if isinstance(result, str):
            empty = False
            run.reject(window, result)
            continue
        empty = empty and result.message is None
        run.accept(window, result)
        run.publish()
    posts = sum(r.count for r in results if isinstance(r, _Fetched))
    run.p.progress.advance(len(windows), posts)
    return empty


def _close_report(
    report: IngestReport, source: Source, budget: Budget | None, *, left: int
) -> None:
    report.left = left
    if budget is not None:
        report.cost = budget.cost
    elif source.prices is not None:
        report.cost = report.used.cost(source.prices)


def _budget_reached(report: IngestReport) -> BudgetReached:
    spent = f", ${report.cost:,.2f}" if report.cost is not None else ""
    return BudgetReached(
        f"ingest: budget reached after {report.fetched} windows ({report.used.posts:,} posts"
        f"{spent}); {report.left} windows left; rerun with a larger max_posts/max_cost to "
        "go on from there",
        report,
    )


def _stop(
    source: Source, inflight: deque[tuple[list[Window], Future[Any]]], accept: Any
) -> list[BaseException]:
    """After an error no retry can fix: stop the other threads, keep the windows they finished;
    returns the errors they ended with."""
    source.cancel()
    errors: list[BaseException] = []
    for windows, future in inflight:
        if future.cancel():
            continue
        try:
            results = future.result()
        except BaseException as exc:
            errors.append(exc)
            continue
        for window, result in zip(windows, results, strict=True):
            if isinstance(result, _Fetched):
                accept(window, result)
    inflight.clear()
    return errors
