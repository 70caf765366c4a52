"""Every analyzer: one Comprehend-shaped score per text, in order, scores summing to 1."""

from __future__ import annotations

import math

import pytest

from tweetsense.config import BackendSection
from tweetsense.registry import create
from tweetsense.sentiment import LABELS

TEXTS = [
    "I absolutely love my new electric car, best decision ever! 😍",
    "Worst charging experience ever. Broken stations, angry and done.",
    "The report on EV sales comes out on Tuesday.",
    "Great range but the software is terrible and support is awful",
    "",
    "🚗⚡🔥",
    "مرحبا بالعالم",
    "x" * 20000,
]


@pytest.fixture(params=["vader"])
def analyzer(request: pytest.FixtureRequest, context):
    a = create("sentiment", context, BackendSection(type=request.param))
    yield a
    a.close()


def test_one_valid_score_per_text_in_order(analyzer) -> None:
    scores = analyzer.analyze(TEXTS)
    assert len(scores) == len(TEXTS)
    for s in scores:
        assert s.label in LABELS
        parts = (s.positive, s.negative, s.neutral, s.mixed)
        assert all(0.0 <= v <= 1.0 for v in parts)
        assert math.isclose(sum(parts), 1.0, abs_tol=1e-9)
    assert scores[0].label == "POSITIVE"
    assert scores[1].label == "NEGATIVE"
    assert scores[2].label == "NEUTRAL"
    # Order is kept: scoring one text alone gives the same answer as in the batch.
    assert analyzer.analyze([TEXTS[1]])[0] == scores[1]


def test_empty_batch(analyzer) -> None:
    assert analyzer.analyze([]) == []
