"""Sentiment analyzers: VADER by default; cloud and HTTP models behind the same interface."""

from tweetsense.sentiment.base import LABELS, Analyzer, Score

__all__ = ["LABELS", "Analyzer", "Score"]
