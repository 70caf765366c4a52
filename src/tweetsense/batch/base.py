"""The batch engine interface: staged pages + sentiment files in, the output tables out.

An engine only reads the files into the flat input tables of ``batch.job`` and writes the
results; the merge and aggregation logic is the one Ibis expression in ``batch.job``, so every
engine computes the same tables.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel

from tweetsense.staging.base import Store


@dataclass(frozen=True)
class BatchInputs:
    query: str
    slug: str
    freq_seconds: int
    staging_uris: list[str]
    sentiment_uris: list[str]
    # Epoch seconds of every window included, empty ones too: those without files among them
    # are the windows the source had nothing for (``Manifest.empty``).
    window_starts: list[int]
    # The other analyzers' sentiment files (``layout.sentiment_key`` with a name), any windows.
    analysis_uris: list[str] = field(default_factory=list)
    # (epoch seconds, counted volume) of the windows without a staging file that have one:
    # rows of the job's ``volumes`` table beside the staged files' own.
    volumes: list[tuple[int, int]] = field(default_factory=list)
    # Analyzers that scored every window without files (there was nothing to score): rows of
    # the job's ``analyzers`` table beside the names in the sentiment files.
    analyzers: list[str] = field(default_factory=list)
    # Posts of a window a word needs to be one of its drivers (``insight.driver_min_count``).
    driver_min_count: int = 2
    # An incremental batch: the staging rows placement, users, edits and volumes come from
    # (every staged file's, narrow: ``pipeline.batch_state``), while ``staging_uris`` are only
    # the files of the windows recomputed. None: ``staging_uris`` serve both.
    key_uris: list[str] | None = None
    # The windows (epoch seconds) whose rows the outputs hold; None: every window.
    affected: list[int] | None = None
    # Every post row of ``key_uris`` as ``job.classify`` leaves it over these inputs, written by
    # ``pipeline.batch_state``: an engine may read it instead of classifying the rows again.
    rows_uri: str | None = None


@dataclass(frozen=True)
class BatchOutputs:
    """Store keys of the outputs; Parquet is what the warehouse loads, CSV is for people."""

    tweets_parquet: str
    windows_parquet: str
    tweets_csv: str | None
    windows_csv: str | None
    scores_parquet: str  # every analyzer's score of each post (``tweet_score``)
    by_analyzer_parquet: str  # the windows' aggregates per analyzer (``sentiment_by_analyzer``)
    drivers_parquet: str  # what the posts of each window and label name (``driver``)
    # How often each pair of analyzers gives each pair of labels (``analyzer_agreement``).
    agreement_parquet: str
    # The windows that depart from their baseline (``sentiment_spike``): written after the
    # engine from ``windows_parquet`` (``batch.spikes``), not by the engine.
    spikes_parquet: str


@dataclass(frozen=True)
class BatchResult:
    tweets: int
    windows: int
    label_counts: dict[str, int]
    # Per staged window file: posts read, placed and dropped per reason (``job.JobOutputs``).
    ledger: list[dict[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Scratch:
    """Where the batch's own DuckDB work around the engine (its state, an incremental batch's
    merge) spills, and the memory it may hold before it does."""

    directory: Path
    memory_limit: str = "512MB"
    threads: int | None = None


class Engine(ABC):
    name: ClassVar[str]
    Settings: ClassVar[type[BaseModel]]

    def scratch(self, data_dir: Path) -> Scratch:
        """The limits of the batch's DuckDB work beside this engine."""
        return Scratch(data_dir / ".tmp")

    @abstractmethod
    def run(self, inputs: BatchInputs, outputs: BatchOutputs, store: Store) -> BatchResult:
        """Compute every output and write each atomically through ``store``."""
