"""Staging store: where raw pages, sentiment files and outputs are kept."""

from tweetsense.staging.base import Store

__all__ = ["Store"]
