"""One exception tree for the whole package.

Every error a user can cause or fix is a :class:`TweetsenseError` whose message is one line
saying what is wrong and what to do; the CLI prints it without a traceback. Errors are split
into *retryable* (the same call may succeed later: throttling, a server that is down) and
*terminal* (retrying cannot help: bad config, bad input, a missing credential).
"""

from __future__ import annotations


class TweetsenseError(Exception):
    """Base of every error raised on purpose by tweetsense."""

    exit_code = 1


class TerminalError(TweetsenseError):
    """Retrying the same call cannot succeed; a person has to change something."""


class RetryableError(TweetsenseError):
    """The same call may succeed later (timeouts, throttling, a server restarting)."""


class ConfigError(TerminalError):
    """The configuration file, an environment override or a secret is invalid or missing."""

    exit_code = 2


class MissingCredentialError(ConfigError):
    """A secret a backend needs is in neither the environment nor the secrets file."""


class UnknownBackendError(ConfigError):
    """A stage names a backend that is not registered."""


class BadInputError(TerminalError):
    """A file or record does not follow its data contract."""


class StageError(TerminalError):
    """A stage cannot run because an earlier stage has not finished."""


class BackendUnavailableError(RetryableError):
    """A server the configuration points at cannot be reached."""


class AnalyzerTimeoutError(RetryableError):
    """A sentiment analyzer did not answer in time."""
