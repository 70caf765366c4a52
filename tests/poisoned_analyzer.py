"""A real analyzer for tests: VADER, except that it fails on any text containing POISON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from tweetsense.sentiment.base import Score
from tweetsense.sentiment.vader import VaderAnalyzer


class PoisonedAnalyzer(VaderAnalyzer):
    name = "vader"  # same files as VADER, so the other windows are unaffected
    cpu_bound = False
    poisoned_calls: ClassVar[int] = 0

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        if any("POISON" in t for t in texts):
            type(self).poisoned_calls += 1
            raise ValueError("the model cannot read this text")
        return super().analyze(texts)


class BrokenAnalyzer(VaderAnalyzer):
    """An analyzer whose model fails on every text: its windows all end as failures."""

    name = "broken"
    cpu_bound = False

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        raise ValueError("the model cannot start")
