"""Start-up: the configuration, checked before anything reads it, and the answer every request
gets when the provider can't start. Standard library only, so that it can always answer.

Anything that raises while Lambda loads the function would otherwise leave CloudFormation
waiting out ServiceTimeout, an hour unless the stack sets less, and its rollback as long again.
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from . import event
from .clock import CLOCK
from .contract import BOOLEANS
from .delivery import Answer, failed_physical_id, payload, send

logger = logging.getLogger(__name__)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Lambda's own control (LoggingConfig.ApplicationLogLevel) comes first, as Powertools ranks it: an
# operator changes the level as for any function. Its names are Lambda's, not Python's.
LAMBDA_LOG_LEVEL = "AWS_LAMBDA_LOG_LEVEL"  # Lambda's ApplicationLogLevel, in Lambda's names
LOG_LEVEL_VARIABLES = (LAMBDA_LOG_LEVEL, "POWERTOOLS_LOG_LEVEL", "LOG_LEVEL")
LAMBDA_LOG_LEVELS = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}
# What the SDK reads to aim a client at an emulator; template.yaml declares them empty.
ENDPOINT_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_CLOUDFORMATION",
)
LEDGER_TABLE = "LEDGER_TABLE"
ANSWERS_TABLE = "IDEMPOTENCY_TABLE"  # optional: without it, repeated deliveries are worked out again
ALLOW_ADOPTION = "ALLOW_ADOPTION"
# Cognito's write rates, when the account's are raised; empty: its default quotas.
POOL_WRITE_RATE, ACCOUNT_WRITE_RATE = "POOL_WRITE_RATE", "ACCOUNT_WRITE_RATE"
DEFAULT_RATES = {POOL_WRITE_RATE: 5.0, ACCOUNT_WRITE_RATE: 15.0}


class Misconfigured(Exception):
    """A setting the provider can't run with; the message says which, and what to set."""


class Configuration(NamedTuple):
    """The provider's settings, read from the environment once, at start-up."""

    ledger_table: str
    answers_table: str | None
    allow_adoption: bool
    log_level: str
    warning: str | None = None  # a setting that was ignored, to log once logging is set up
    pool_write_rate: float = DEFAULT_RATES[POOL_WRITE_RATE]
    account_write_rate: float = DEFAULT_RATES[ACCOUNT_WRITE_RATE]


def configuration() -> Configuration:
    """The settings, or Misconfigured for one that would fail every request."""
    check_configuration()
    level, warning = log_level()
    return Configuration(
        ledger_table=os.environ[LEDGER_TABLE],
        answers_table=os.environ.get(ANSWERS_TABLE) or None,
        allow_adoption=BOOLEANS[os.environ.get(ALLOW_ADOPTION, "true").strip().lower()],
        log_level=level,
        warning=warning,
        pool_write_rate=write_rate(POOL_WRITE_RATE),
        account_write_rate=write_rate(ACCOUNT_WRITE_RATE),
    )


def write_rate(variable: str) -> float:
    """A write rate the operator set, in writes a second; the default quota when unset."""
    value = os.environ.get(variable, "").strip()
    if not value:
        return DEFAULT_RATES[variable]
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not 0 < rate <= 10_000:
        raise Misconfigured(f"{variable} {value[:20]!r} must be a number of writes a second, such as 5")
    return rate


def log_level() -> tuple[str, str | None]:
    """The level to log at, and a warning when the environment named none that exists: a wrong
    level is no reason to fail a stack, so it logs at INFO and says so."""
    for variable in LOG_LEVEL_VARIABLES:
        if value := os.environ.get(variable, "").strip():
            level = LAMBDA_LOG_LEVELS.get(value.upper(), value.upper())
            if level in LOG_LEVELS:
                return level, None
            return "INFO", f"{variable} {value[:20]!r} is not a level ({', '.join(LOG_LEVELS)}); logging at INFO"
    return "INFO", None


def check_configuration() -> None:
    """Raise Misconfigured for a setting that would fail every request."""
    for variable in ENDPOINT_VARIABLES:
        value = os.environ.get(variable, "")
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.netloc):
            raise Misconfigured(
                f"{variable} {value[:60]!r} is not a URL: set it to one such as http://127.0.0.1:5000, "
                "or leave it empty to use AWS's own endpoints"
            )
    if not os.environ.get(LEDGER_TABLE):
        raise Misconfigured(
            "LEDGER_TABLE is not set: the provider must record which servers it owns; "
            "deploy it with its template, which creates the table"
        )
    adoption = os.environ.get(ALLOW_ADOPTION, "true").strip().lower()
    if adoption not in BOOLEANS:
        raise Misconfigured(f'ALLOW_ADOPTION {adoption[:20]!r} must be "true" or "false"')


def explain(error: BaseException) -> str:
    """Why the provider could not start, and what to do, in one line."""
    if isinstance(error, Misconfigured):
        return f"The provider is misconfigured: {error}"
    where = ""
    if frames := traceback.extract_tb(error.__traceback__):
        module = frames[-1].filename.rsplit("/", 2)
        where = f" in {'/'.join(module[-2:])}"
    return (
        f"The provider failed to start: {type(error).__name__}{where}: {str(error)[:120]}; "
        "redeploy it (a broken layer or an unsupported Lambda runtime SDK can cause this)"
    )


def answer_unstarted(raw_event: Any, context: Any, reason: str) -> None:
    """One FAILED answer to a request that a provider which could not start received."""
    if not logging.getLogger().handlers:  # Powertools never set logging up: Lambda's stdout will do
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    logger.error(reason)
    envelope = event.envelope(raw_event)
    if envelope.response_url is None:
        logger.error("Event has no https ResponseURL; there is nowhere to answer")
        return
    deadline = CLOCK.monotonic() + context.get_remaining_time_in_millis() / 1000
    try:
        encoded = payload(Answer(failed_physical_id(envelope), {}, reason), envelope)
    except Exception:  # noqa: BLE001 - an event too odd to echo still gets an answer
        empty = event.envelope({})
        encoded = payload(Answer(failed_physical_id(empty), {}, reason), empty)
    send(envelope.response_url, encoded, deadline, once=bool(os.environ.get("AWS_SAM_LOCAL")))
