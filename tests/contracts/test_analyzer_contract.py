"""Every analyzer: one Comprehend-shaped score per text, in order, scores summing to 1."""

from __future__ import annotations

import math
from pathlib import Path

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


@pytest.fixture(scope="module")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder as `tweetsense train` writes it, holding the shipped weights: a model
    trained in seconds on a few hundred tweets cannot be held to the labels asserted below
    (tests/test_sentiment_model.py trains one and scores with it)."""
    from tweetsense.sentiment.linear import LinearModel
    from tweetsense.sentiment.local_models import shipped_model_dir

    out = tmp_path_factory.mktemp("model")
    LinearModel.load(shipped_model_dir("fast")).save(out)
    return out


# A random tiny model keeps the contract but cannot know what a text means.
NO_MEANING = {"transformers-tiny"}
ANALYZERS = ["vader", "comprehend", "default", "fast", "model", "transformers", "http"]


@pytest.fixture(params=[*ANALYZERS, "transformers-tiny"])
def analyzer(request: pytest.FixtureRequest, context):
    options = {}
    kind = request.param
    if request.param == "http":  # `tweetsense serve-model` serving VADER
        options = {"url": request.getfixturevalue("model_url"), "batch_size": 3}
    if request.param == "comprehend":  # the fake speaks Comprehend's JSON protocol
        options = {"endpoint_url": request.getfixturevalue("fake_comprehend").url}
    if request.param == "model":
        options = {"path": str(request.getfixturevalue("trained_model_dir"))}
    if request.param == "transformers":  # the shipped model's folder has the Hugging Face layout
        from tweetsense.sentiment.local_models import shipped_model_dir

        options = {"model": str(shipped_model_dir("default"))}
    if request.param == "transformers-tiny":  # exported to ONNX on first use, like a hub model
        from tests.tiny_models import SENTIMENT, tiny_bert

        folder = tiny_bert(request.getfixturevalue("tmp_path") / "tiny", SENTIMENT)
        kind = "transformers"
        options = {"model": str(folder), "cache_dir": str(folder.parent / "onnx-cache")}
    a = create("sentiment", context, BackendSection(type=kind, **options))
    yield a
    a.close()


def test_one_valid_score_per_text_in_order(analyzer, request: pytest.FixtureRequest) -> None:
    scores = analyzer.analyze(TEXTS)
    assert len(scores) == len(TEXTS)
    for s in scores:
        assert s.label in LABELS
        parts = (s.positive, s.negative, s.neutral, s.mixed)
        assert all(0.0 <= v <= 1.0 for v in parts)
        assert math.isclose(sum(parts), 1.0, abs_tol=1e-9)
    if request.node.callspec.params["analyzer"] not in NO_MEANING:
        assert scores[0].label == "POSITIVE"
        assert scores[1].label == "NEGATIVE"
        assert scores[2].label == "NEUTRAL"
    # Order is kept: scoring one text alone gives the same answer as in the batch.
    assert analyzer.analyze([TEXTS[1]])[0] == scores[1]


def test_empty_batch(analyzer) -> None:
    assert analyzer.analyze([]) == []
