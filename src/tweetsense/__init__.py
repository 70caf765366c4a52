"""tweetsense: sentiment of posts about a topic, from ingestion to dashboard."""

from tweetsense.errors import (
    BackendUnavailableError,
    BadInputError,
    ConfigError,
    MissingCredentialError,
    RetryableError,
    StageError,
    TerminalError,
    TweetsenseError,
    UnknownBackendError,
)

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailableError",
    "BadInputError",
    "ConfigError",
    "MissingCredentialError",
    "RetryableError",
    "StageError",
    "TerminalError",
    "TweetsenseError",
    "UnknownBackendError",
    "__version__",
]
