"""Streams: the durable hand-off between ingestion and scoring."""

from tweetsense.stream.base import Consumer, Message, Stream

__all__ = ["Consumer", "Message", "Stream"]
