"""Three-label probabilities in Amazon Comprehend's four-score shape.

**MIXED rule.** A local model gives calibrated probabilities for negative, neutral and positive.
``mixed = max(0, min(positive, negative) - neutral)``: the evidence both polar labels share beyond
what neutral gets, so it is 0 for most posts. The other three are scaled by ``1 - mixed`` (their
order is kept) and the four sum to 1. The label is the largest of the four: MIXED when both polar
probabilities are high and neutral low (e.g. 0.47 / 0.45 / 0.08). If neutral is the most likely
label, ``min(positive, negative) <= neutral``, so mixed is 0: MIXED only ever replaces POSITIVE or
NEGATIVE, and mapping MIXED back to the larger polar score gives the model's three-label answer;
dividing the three by ``1 - mixed`` gives back the model's probabilities.
"""

from __future__ import annotations

import numpy as np

from tweetsense.contracts import LABELS
from tweetsense.sentiment.base import Score

# The three labels local models learn, in the column order of their probabilities.
CLASSES = ("negative", "neutral", "positive")


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def comprehend_scores(proba: np.ndarray) -> list[Score]:
    """Four-score shape from (negative, neutral, positive) rows; see the module's MIXED rule."""
    neg, neu, pos = proba[:, 0], proba[:, 1], proba[:, 2]
    mixed = np.maximum(0.0, np.minimum(pos, neg) - neu)
    keep = 1.0 - mixed
    # Columns in Comprehend's order, the order of LABELS: POSITIVE, NEGATIVE, NEUTRAL, MIXED.
    four = np.column_stack([pos * keep, neg * keep, neu * keep, mixed])
    four /= four.sum(axis=1, keepdims=True)
    winners = four.argmax(axis=1)
    return [
        Score(LABELS[w], float(p), float(n), float(u), float(x))
        for w, (p, n, u, x) in zip(winners.tolist(), four.tolist(), strict=True)
    ]
