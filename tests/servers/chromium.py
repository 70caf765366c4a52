"""Debian's Chromium (installed by tools/deps/chromium.sh), headless, for Playwright."""

from __future__ import annotations

from typing import Any

CHROMIUM = "/usr/bin/chromium"
# No sandbox (containers lack its namespaces), no GPU, nothing fetched in the background.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def launch(playwright: Any) -> Any:
    """A headless Chromium browser driven by ``playwright``."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
