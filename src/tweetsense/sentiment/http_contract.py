"""The JSON contract between the HTTP analyzer and a model server (e.g. `tweetsense serve-model`).

Request: ``POST <url>`` with ``{"texts": ["...", ...]}``.

Response ``scores`` (the default), one entry per text, in order::

    {"scores": [{"label": "POSITIVE", "positive": 0.71, "negative": 0.06,
                 "neutral": 0.22, "mixed": 0.01}, ...]}

The four probabilities lie in [0, 1] and sum to 1 (within 0.001; they are renormalised);
``label`` is POSITIVE, NEGATIVE, NEUTRAL or MIXED, in any case.

Response ``label_score``, as many text-classification servers answer: a list, or ``{"scores":
[...]}``, of ``{"label": "positive", "score": 0.93}``. Labels may be positive/negative/neutral/
mixed or pos/neg/neu, in any case. The winning label gets ``score``; the rest ``1 - score`` is
shared equally by the other two of positive, negative and neutral (mixed stays 0 unless it wins).
"""

from __future__ import annotations

import math
from typing import Any

from tweetsense.sentiment.base import LABELS, Score

_ALIASES = {"POS": "POSITIVE", "NEG": "NEGATIVE", "NEU": "NEUTRAL"}
_TOLERANCE = 1e-3


class MalformedResponse(ValueError):
    """The reply does not follow the contract; the message says how."""


def _label(value: Any) -> str:
    if not isinstance(value, str):
        raise MalformedResponse(f"label {value!r} is not a string")
    label = value.strip().upper()
    label = _ALIASES.get(label, label)
    if label not in LABELS:
        raise MalformedResponse(f"label {value!r} is not one of {', '.join(LABELS)}")
    return label


def _probability(item: dict[str, Any], name: str) -> float:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MalformedResponse(f"{name} is {value!r}, not a number")
    if not 0.0 <= value <= 1.0:
        raise MalformedResponse(f"{name} is {value}, outside 0..1")
    return float(value)


def _entries(body: Any, expected: int) -> list[Any]:
    entries = body.get("scores") if isinstance(body, dict) else body
    if not isinstance(entries, list):
        raise MalformedResponse('expected {"scores": [...]} or a list')
    if len(entries) != expected:
        raise MalformedResponse(f"{len(entries)} scores for {expected} texts")
    for entry in entries:
        if not isinstance(entry, dict):
            raise MalformedResponse(f"score entry {entry!r} is not an object")
    return entries


def parse_scores(body: Any, expected: int) -> list[Score]:
    out = []
    for item in _entries(body, expected):
        parts = [_probability(item, n) for n in ("positive", "negative", "neutral", "mixed")]
        total = sum(parts)
        if abs(total - 1.0) > _TOLERANCE:
            raise MalformedResponse(f"the four scores sum to {total:.4f}, not 1")
        # Float noise is kept as sent, so a served local model gives byte-identical files.
        if abs(total - 1.0) > 1e-9:
            parts = [v / total for v in parts]
        pos, neg, neu, mixed = parts
        out.append(Score(_label(item.get("label")), pos, neg, neu, mixed))
    return out


def parse_label_score(body: Any, expected: int) -> list[Score]:
    out = []
    for item in _entries(body, expected):
        label = _label(item.get("label"))
        score = _probability(item, "score")
        probs = dict.fromkeys(LABELS, 0.0)
        others = [x for x in ("POSITIVE", "NEGATIVE", "NEUTRAL") if x != label]
        probs[label] = score
        for other in others:
            probs[other] = (1.0 - score) / len(others)
        out.append(
            Score(label, probs["POSITIVE"], probs["NEGATIVE"], probs["NEUTRAL"], probs["MIXED"])
        )
    return out


PARSERS = {"scores": parse_scores, "label_score": parse_label_score}


def encode_scores(scores: list[Score]) -> dict[str, Any]:
    return {
        "scores": [
            {
                "label": s.label,
                "positive": s.positive,
                "negative": s.negative,
                "neutral": s.neutral,
                "mixed": s.mixed,
            }
            for s in scores
        ]
    }
