"""Sources: where posts come from (synthetic demo, replayed files, the X API)."""

from tweetsense.sources.base import Page, Source

__all__ = ["Page", "Source"]
