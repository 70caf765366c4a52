"""The analyzers of a run. Each is a consumer group of its own on the one stream, with its own
checkpoints, sentiment files and dead letters, so analyzers run side by side, at their own pace
(``consume --analyzer NAME``, on any machine), and one that fails never touches another's work.

The first analyzer is the primary one: its files stay where the reference design keeps them
(``sentiment/``, consumer group ``tweetsense-sentiment``) and fill the `tweet` and `sentiment`
tables; the others live under ``analyses/<name>/``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tweetsense import layout
from tweetsense.config import Config, SentimentSection
from tweetsense.pipeline.core import CONSUMER_GROUP
from tweetsense.timeutil import Window


@dataclass(frozen=True)
class Analysis:
    section: SentimentSection
    primary: bool

    @property
    def name(self) -> str:
        return self.section.label

    @property
    def group(self) -> str:
        return CONSUMER_GROUP if self.primary else f"{CONSUMER_GROUP}-{self.name}"

    def key(self, slug: str, window: Window) -> str:
        """The sentiment file of ``window``."""
        return layout.sentiment_key(slug, window, None if self.primary else self.name)

    def prefix(self, slug: str) -> str:
        """The folder of the query's sentiment files."""
        if self.primary:
            return f"{layout.SENTIMENT}/{slug}"
        return f"{layout.ANALYSES}/{self.name}/{slug}"

    @property
    def error_stage(self) -> str:
        """The folder of the error documents of windows this analyzer could not score."""
        return "consume" if self.primary else f"consume-{self.name}"

    def error_key(self, slug: str, window: Window) -> str:
        return layout.error_key(self.error_stage, slug, window)

    def dead_letter_key(self, record_key: str, position: str) -> str:
        key = layout.dead_letter_key(record_key, position)
        if self.primary:
            return key
        folder, _, name = key.rpartition("/")
        return f"{folder}/{self.name}/{name}"


def analyses(config: Config) -> list[Analysis]:
    """Every analyzer of ``config``, the primary one first."""
    return [Analysis(section, i == 0) for i, section in enumerate(config.analyzers)]


def analysis(config: Config, name: str | None = None) -> Analysis:
    """The analyzer called ``name`` (a one-line error naming the others when there is none);
    None is the primary one."""
    if name is None:
        return analyses(config)[0]
    config.analyzer(name)  # raises the one-line error for an unknown name
    return next(a for a in analyses(config) if a.name == name)
