"""The source interface: raw X API v2 search pages for one time window."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel

from tweetsense.sources.cost import Estimate, Prices
from tweetsense.timeutil import Window

if TYPE_CHECKING:
    from tweetsense.config import SearchConfig

Page = dict[str, Any]


@dataclass(frozen=True)
class SetAside:
    """A record a source read but could not serve, for ingest to quarantine with its reason."""

    name: str  # unique per record and the same on every run, so a rerun overwrites it
    payload: Any
    reason: str


class Source(ABC):
    """Fetches posts matching a query in a window, as X API v2 ``search`` response pages.

    Every source speaks the X API v2 page shape (``data``, ``includes.users``, ``meta``), so the
    later stages read one format whatever the origin. ``fetch_window`` must be safe to call from
    several threads at once for different windows.
    """

    name: ClassVar[str]
    Settings: ClassVar[type[BaseModel]]
    # Pages computed here rather than awaited from a server: more fetching threads would only
    # take turns holding the interpreter.
    cpu_bound: ClassVar[bool] = False

    @abstractmethod
    def fetch_window(self, query: str, window: Window, max_posts: int | None) -> list[Page]:
        """Pages for ``window`` holding at most ``max_posts`` posts (None: every post)."""

    def volumes(self, query: str, windows: list[Window]) -> dict[str, int] | None:
        """How many posts match ``query`` in each window (by ``Window.id``), counted without
        reading them (the X API's counts endpoints); None: the source cannot count."""
        return None

    def known_empty(self, query: str, windows: list[Window]) -> set[str]:
        """Ids of ``windows`` the source knows hold no post without fetching them (a replay's
        index does); the others are fetched. By default none is known."""
        return set()

    @property
    def count_requests(self) -> int:
        """Requests ``volumes`` had answered so far, each billed at ``Prices.count``."""
        return 0

    @property
    def prices(self) -> Prices | None:
        """What each read costs; None: reads are free, so a dollar budget means nothing."""
        return None

    def set_aside(self) -> list[SetAside]:
        """Records set aside since the last call (each is returned once); the default source
        sets none aside."""
        return []

    def cancel(self) -> None:  # noqa: B027 - optional hook
        """Make fetches in progress stop soon; called from another thread after a fatal error.
        The default fetch is short enough to let finish."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default source holds none."""

    @classmethod
    def estimate(cls, settings: BaseModel, search: SearchConfig, windows: int) -> Estimate | None:
        """Requests, posts, cost and time ``windows`` windows need, without a request; None: the
        source has no cost model."""
        return None
