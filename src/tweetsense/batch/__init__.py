"""Batch merge and windowed aggregation: one job definition, several engines."""

from tweetsense.batch.base import BatchInputs, BatchOutputs, BatchResult, Engine

__all__ = ["BatchInputs", "BatchOutputs", "BatchResult", "Engine"]
