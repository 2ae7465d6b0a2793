"""The check's report, told three ways: a log line per drifted server, metrics, and the value
the handler returns (and the command prints)."""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger

from resource_server.startup import LAMBDA_LOG_LEVEL

from .check import Drifted, Report


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "checked": report.checked,
        "drifted": [_drifted(found) for found in report.drifted],
        "unchecked": [
            {"user_pool_id": pool.user_pool_id, "servers": pool.servers, "why": pool.why} for pool in report.unchecked
        ],
    }


def exit_code(report: Report) -> int:
    """The command's: 1 when a server drifted, else 2 when a pool could not be checked, else 0."""
    return 1 if report.drifted else 2 if report.unchecked else 0


def log(report: Report, logger: Logger) -> None:
    """On the provider's own Logger: this package is imported after the provider gave its
    modules' loggers the Logger's JSON lines (provider.py), so theirs would have none."""
    for found in report.drifted:
        logger.warning("Resource server drifted", extra=_drifted(found))
    for pool in report.unchecked:
        logger.warning(
            "User pool not checked", extra={"user_pool_id": pool.user_pool_id, "servers": pool.servers, "why": pool.why}
        )
    logger.info(
        "Drift check done",
        extra={
            "checked": report.checked,
            "drifted": len(report.drifted),
            "unchecked_pools": len(report.unchecked),
            "left_to_next_check": report.busy,  # a request was changing them
        },
    )


def publish(report: Report) -> None:
    """The three counts as CloudWatch metrics, in the embedded metric format: one JSON line in
    the log, which CloudWatch turns into metrics, so the function needs no PutMetricData."""
    # Imported here: the drift package is itself imported only for a check.
    from aws_lambda_powertools import Metrics  # noqa: PLC0415 - requests don't pay the import
    from aws_lambda_powertools.metrics import MetricUnit  # noqa: PLC0415

    metrics = Metrics()  # namespace and service from POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_SERVICE_NAME
    metrics.add_metric(name="CheckedResourceServers", unit=MetricUnit.Count, value=report.checked)
    metrics.add_metric(name="DriftedResourceServers", unit=MetricUnit.Count, value=len(report.drifted))
    metrics.add_metric(name="UncheckedPools", unit=MetricUnit.Count, value=len(report.unchecked))
    # Lambda's log-level filter reads a JSON line with no "level" as INFO, and drops it under a
    # higher ApplicationLogLevel: the line carries the level the filter lets through.
    metrics.add_metadata(key="level", value=os.environ.get(LAMBDA_LOG_LEVEL, "INFO"))
    metrics.flush_metrics()


def _drifted(found: Drifted) -> dict[str, Any]:
    return {
        "stack_id": found.owner.stack_id,
        "logical_id": found.owner.logical_id,
        "server": str(found.server_id),
        "differences": list(found.differences),
        # CloudFormation sends an Update only for a changed property: Revision is the one to change.
        "repair": f"change {found.owner.logical_id}'s Revision property and update stack {found.owner.stack_name}",
    }
