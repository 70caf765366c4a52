"""VADER mapped to the four-score shape, keeping VADER's standard labels exactly.

Probabilities: softmax over [k(-c-0.05), 0, k(c-0.05)] for compound c, so the argmax is
NEGATIVE below -0.05, POSITIVE above 0.05 and NEUTRAL between, VADER's own thresholds. Mixed
feeling is ``2 * min(pos, neg)`` of VADER's word proportions (a text as positive as it is
negative is fully mixed), carved out of the other three by scaling them by ``1 - mixed``; the
scaling keeps the argmax, so the label never changes and is never MIXED.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from tweetsense.sentiment.base import Analyzer, Score

if TYPE_CHECKING:
    from tweetsense.registry import Context

THRESHOLD = 0.05


def vader_score(compound: float, pos: float, neg: float, k: float) -> Score:
    a = math.exp(k * (-compound - THRESHOLD))
    c = math.exp(k * (compound - THRESHOLD))
    total = a + 1.0 + c
    mixed = 2.0 * min(pos, neg)
    keep = (1.0 - mixed) / total
    negative, neutral, positive = a * keep, keep, c * keep
    if compound > THRESHOLD:
        label = "POSITIVE"
    elif compound < -THRESHOLD:
        label = "NEGATIVE"
    else:
        label = "NEUTRAL"
    return Score(label, positive, negative, neutral, mixed)


class VaderAnalyzer(Analyzer):
    name = "vader"
    cpu_bound = True

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        k: float = Field(default=1.5, gt=0, description="softmax sharpness")

    def __init__(self, settings: VaderAnalyzer.Settings, context: Context | None = None):
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        self._vader = SentimentIntensityAnalyzer()
        self._k = settings.k

    def analyze(self, texts: Sequence[str]) -> list[Score]:
        polarity = self._vader.polarity_scores
        k = self._k
        out = []
        for text in texts:
            s = polarity(text)
            out.append(vader_score(s["compound"], s["pos"], s["neg"], k))
        return out
