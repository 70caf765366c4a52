"""The analyzer interface: texts in, Amazon Comprehend-shaped scores out, a batch at a time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel

# Re-exported: an analyzer answers with one of these labels.
from tweetsense.contracts import LABELS as LABELS


@dataclass(frozen=True, slots=True)
class Score:
    """Comprehend's SentimentScore: four probabilities that sum to 1, and the winning label."""

    label: str
    positive: float
    negative: float
    neutral: float
    mixed: float

    def as_dict(self, tweet_id: str) -> dict[str, str | float]:
        return {
            "tweet_id": tweet_id,
            "label": self.label,
            "positive": self.positive,
            "negative": self.negative,
            "neutral": self.neutral,
            "mixed": self.mixed,
        }


class Analyzer(ABC):
    """Scores texts. ``analyze`` takes a batch because every real backend is faster that way."""

    name: ClassVar[str]
    # A local, CPU-bound model: the consume stage runs one copy per worker process.
    cpu_bound: ClassVar[bool] = False
    Settings: ClassVar[type[BaseModel]]

    @abstractmethod
    def analyze(self, texts: Sequence[str]) -> list[Score]:
        """One score per text, in order."""

    def check(self) -> str:
        """One line saying the analyzer answers; raises a TweetsenseError saying why not."""
        return "ok: nothing to check"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model or connections."""
