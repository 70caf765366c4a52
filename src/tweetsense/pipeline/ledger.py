"""The ledger: where every post went, per window and in total, so none vanishes unaccounted.

Built by the batch stage from what it read (each post of each staged window is placed or
dropped under one named reason, see ``batch.job``), the ingest manifest (staged windows the
batch left out because they are not scored), and the quarantine (windows set aside before
staging); the load stage adds how many rows reached the warehouse. Stored as
``outputs/<slug>/_ledger.json`` beside the batch manifest, so ``status`` and a later run read
the same figures. It balances by construction and says so:

    fetched = placed + duplicates + dropped (by reason)      placed = loaded, once loaded
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from tweetsense import layout
from tweetsense.batch.job import DROP_REASONS, PLACED
from tweetsense.errors import BadInputError
from tweetsense.sources.api_errors import ApiErrors
from tweetsense.staging.base import Store
from tweetsense.timeutil import Window, format_utc, from_epoch

LEDGER = "_ledger.json"
# Posts of staged windows the batch did not read: they have no sentiment file yet.
NOT_SCORED = "window_not_scored"
# Posts of windows whose pages could not be read, set aside before staging.
QUARANTINED = "quarantined"
# Records a source read but could not serve (replay's on_bad_record: skip), set aside.
BAD_RECORD = "bad_record"
REASONS = (*DROP_REASONS, NOT_SCORED, QUARANTINED, BAD_RECORD)
EXPECTED = ("duplicate", "edited", "outside_range")
# What each reason means, for people.
EXPLAINED = {
    "duplicate": "the same post in more than one window or page",
    "edited": "an earlier version of an edited post; the latest version is kept",
    "no_id": "no post id",
    "no_time": "no created_at, and an id that is no X snowflake to take the time from",
    "unscored": "no sentiment score for the post",
    "outside_range": "created outside the staged windows of the search",
    NOT_SCORED: "its window has no sentiment file (consume it, or its record was dead-lettered)",
    QUARANTINED: "its window's pages could not be read (see the quarantine)",
    BAD_RECORD: "a record the source could not read, set aside in the quarantine",
}


@dataclass
class Ledger:
    fetched: int = 0
    placed: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> posts; duplicates too
    time_derived: int = 0  # placed posts whose time came from their id
    loaded: int | None = None  # rows of `tweet` for the query after the last load
    windows: dict[str, dict[str, int]] = field(default_factory=dict)  # window start -> counts
    dead_letters: int = 0  # stream records of the query moved aside by the consumer
    # What the API said it could not return, in the staged pages (no post to count for it).
    api_errors: dict[str, Any] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return self.dropped.get("duplicate", 0)

    @property
    def edited(self) -> int:
        return self.dropped.get("edited", 0)

    def errors(self) -> ApiErrors:
        return ApiErrors(**self.api_errors)

    @property
    def outside(self) -> int:
        return self.dropped.get("outside_range", 0)

    @property
    def lost(self) -> dict[str, int]:
        """Posts that count nowhere: the drops other than duplicates, earlier versions of edited
        posts and posts created outside the search's range (which replayed files and boundary
        copies hold by nature)."""
        return {r: n for r, n in self.dropped.items() if n and r not in EXPECTED}

    @property
    def balanced(self) -> bool:
        return self.fetched == self.placed + sum(self.dropped.values())

    def line(self) -> str:
        """``38,400 fetched = 37,616 loaded + 784 duplicates + 0 dropped``."""
        dropped = sum(self.lost.values())
        if self.loaded == self.placed:
            kept = f"{self.placed:,} loaded"
        elif self.loaded is None:
            kept = f"{self.placed:,} placed (not loaded yet)"
        else:  # the warehouse also holds rows of earlier, wider runs of the query
            kept = f"{self.placed:,} placed ({self.loaded:,} rows in the warehouse)"
        edited = f" + {self.edited:,} earlier versions of edited posts" if self.edited else ""
        outside = f" + {self.outside:,} outside the range" if self.outside else ""
        return (
            f"{self.fetched:,} fetched = {kept} + {self.duplicates:,} duplicates{edited}"
            f"{outside} + {dropped:,} dropped"
        )

    def warning(self) -> str | None:
        """One line when any post was dropped (or the figures do not add up), else None."""
        if not self.balanced:
            return f"ledger does not balance: {self.line()}; rerun `tweetsense batch`"
        if not self.lost:
            return None
        reasons = "; ".join(f"{n:,} {r} ({EXPLAINED[r]})" for r, n in self.lost.items())
        return f"{sum(self.lost.values()):,} posts dropped: {reasons}"

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_SORT_KEYS)

    @classmethod
    def from_json(cls, data: bytes, where: str) -> Ledger:
        try:
            return cls(**orjson.loads(data))
        except (orjson.JSONDecodeError, TypeError):
            raise BadInputError(f"ledger {where} is damaged; rerun `tweetsense batch`") from None


def build(
    batch_rows: list[dict[str, int]],
    unscored_windows: dict[Window, int],
    quarantined_windows: dict[Window, int],
    dead_letters: int,
    bad_records: int = 0,
    api_errors: ApiErrors | None = None,
) -> Ledger:
    """The ledger of one batch: its per-file counts, plus the staged windows it left out
    (``unscored_windows``: window -> posts) and the windows quarantined before staging."""
    ledger = Ledger(dead_letters=dead_letters)
    if api_errors:
        ledger.api_errors = asdict(api_errors)
    totals: Counter[str] = Counter()
    for row in batch_rows:
        counts = {k: v for k, v in row.items() if k != "file_epoch" and v}
        ledger.windows[format_utc(from_epoch(row["file_epoch"]))] = counts
        totals.update(counts)
    for reason, extra in ((NOT_SCORED, unscored_windows), (QUARANTINED, quarantined_windows)):
        for window, posts in extra.items():
            ledger.windows[format_utc(window.start)] = {"fetched": posts, reason: posts}
            totals.update({"fetched": posts, reason: posts})
    totals.update({"fetched": bad_records, BAD_RECORD: bad_records})  # in no window
    ledger.fetched = totals["fetched"]
    ledger.placed = totals[PLACED]
    ledger.time_derived = totals["time_derived"]
    ledger.dropped = {r: totals[r] for r in REASONS if totals[r]}
    ledger.windows = dict(sorted(ledger.windows.items()))
    return ledger


def key(slug: str) -> str:
    return layout.output_key(slug, LEDGER)


def save(store: Store, slug: str, ledger: Ledger) -> None:
    store.put(key(slug), ledger.to_json())


def load(store: Store, slug: str) -> Ledger | None:
    try:
        data = store.get(key(slug))
    except KeyError:
        return None
    return Ledger.from_json(data, store.uri(key(slug)))


def quarantined_posts(
    store: Store, slug: str, windows: Iterable[Window], staged: set[str]
) -> dict[Window, int]:
    """Posts of the windows ingest set aside (pages it could not read) and never staged since."""
    names = set(store.list(layout.quarantine_dir("ingest", slug)))
    found: dict[Window, int] = {}
    if not names:
        return found
    for window in windows:
        k = layout.quarantine_key("ingest", slug, window.id)
        if k not in names or layout.staging_key(slug, window) in staged:
            continue
        try:
            pages: Any = orjson.loads(store.get(k)).get("payload")
        except (KeyError, orjson.JSONDecodeError, AttributeError):
            pages = None
        pages = pages if isinstance(pages, list) else []
        found[window] = sum(len(pg.get("data") or []) for pg in pages if isinstance(pg, dict))
    return found


def bad_records(store: Store, slug: str) -> int:
    """Records the source set aside for the query (each one post or line of an export)."""
    return sum(1 for _ in store.list(layout.quarantine_dir(layout.SOURCE_RECORDS, slug)))
