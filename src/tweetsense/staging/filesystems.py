"""Lets a DuckDB connection read the configured store's URIs (s3://...) through fsspec.

DuckDB's own httpfs extension is downloaded at run time, which locked-down hosts cannot do; an
fsspec filesystem registered on the connection needs nothing beyond the store's own client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tweetsense.registry import Context
    from tweetsense.staging.base import Store


def register(con: Any, store: Store) -> None:
    """Registers the store's filesystem on ``con`` when its URIs are not local paths."""
    fs = store.filesystem()
    if fs is not None:
        con.register_filesystem(fs)


def register_for_uris(con: Any, uris: Iterable[str], context: Context) -> None:
    """For code that only holds URIs: registers the configured store's filesystem when any of
    them is a URL; local paths need nothing, so the store is not even built for them."""
    if not any("://" in uri for uri in uris):
        return
    from tweetsense import registry

    register(con, registry.create("storage", context))
