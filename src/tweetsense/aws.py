"""What the AWS backends share: clients built from the standard credential chain, and AWS
errors turned into one-line tweetsense errors.

Credentials are never part of our settings: boto3 finds them (environment, ~/.aws, SSO,
instance or task role), so they never reach a config file, a log line or an error message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tweetsense.errors import (
    BackendUnavailableError,
    ConfigError,
    MissingCredentialError,
    RetryableError,
    TerminalError,
    TweetsenseError,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient

_RETRYABLE = {
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "InternalError",
    "InternalFailure",
    "InternalServerException",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
}
_ACCESS = {
    "AccessDenied",
    "AccessDeniedException",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
}
_NOT_FOUND = {"NoSuchBucket", "ResourceNotFoundException", "404", "NotFound"}


def client(
    service: str,
    *,
    endpoint_url: str | None,
    region: str | None,
    max_attempts: int = 3,
    read_timeout: float = 30.0,
) -> BaseClient:
    """A client whose retries we bound, so a throttled call surfaces instead of hanging."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError

    config = Config(
        retries={"mode": "standard", "total_max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=read_timeout,
        max_pool_connections=32,
    )
    try:
        return boto3.session.Session().client(
            service, endpoint_url=endpoint_url, region_name=region, config=config
        )
    except BotoCoreError as exc:
        raise translate(
            exc, service_setting(service), f"cannot build the {service} client"
        ) from None


def service_setting(service: str) -> str:
    return {"s3": "storage", "kinesis": "stream", "comprehend": "sentiment"}.get(service, service)


def error_code(exc: BaseException) -> str:
    response: dict[str, Any] = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def translate(exc: BaseException, section: str, what: str) -> TweetsenseError:
    """One line naming the setting and what to do; the AWS message never carries secrets."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return MissingCredentialError(
            f"{section}: {what}: no AWS credentials found; configure the standard AWS chain "
            "(AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or an instance role)"
        )
    if isinstance(exc, NoRegionError):
        return ConfigError(f"{section}.region: {what}: no AWS region; set it or AWS_DEFAULT_REGION")
    if isinstance(
        exc,
        EndpointConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionClosedError,
    ):
        return BackendUnavailableError(
            f"{section}.endpoint_url: {what}: cannot reach the endpoint ({exc}); check the "
            "URL and the network"
        )
    if isinstance(exc, ClientError):
        code = error_code(exc)
        message = str(exc.response.get("Error", {}).get("Message", "") or code)
        if code in _RETRYABLE:
            return RetryableError(f"{section}: {what}: {code} ({message}); try again later")
        if code in _ACCESS:
            return ConfigError(
                f"{section}: {what}: access denied ({code}); check the credentials' permissions"
            )
        if code in _NOT_FOUND:
            return ConfigError(f"{section}: {what}: not found ({code}); check the settings")
        return TerminalError(f"{section}: {what}: {code}: {message}")
    return BackendUnavailableError(f"{section}: {what}: {type(exc).__name__}: {exc}")


def is_aws_error(exc: BaseException) -> bool:
    from botocore.exceptions import BotoCoreError, ClientError

    return isinstance(exc, BotoCoreError | ClientError)
