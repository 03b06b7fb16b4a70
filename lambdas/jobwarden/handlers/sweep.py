"""Scheduled sweep of one service (from the event's "service" or JOBWARDEN_SERVICE), or,
with {"check": {"service", "region", "job_id"}}, the deadline check of one job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobwarden.act import Lease
from jobwarden.handlers.metrics import count_failure, publish, recorder
from jobwarden.handlers.tracing import tracer as make_tracer
from jobwarden.result import SweepResult
from jobwarden.runtime import ConfigurationError, Environment, Runtime
from jobwarden.services import REGISTRY
from jobwarden.sweep import Sweeper

logger = Logger(service="jobwarden")
metrics = recorder()
tracer = make_tracer()


class SweepFailed(RuntimeError):
    """Raised so Lambda reports the invocation as failed and the Errors alarm fires."""


@cache
def runtime() -> Runtime:
    """Built on the first invocation and kept warm, with its parameter cache."""
    return Runtime(Environment.from_env())


def service_of(event: dict[str, Any], default: str | None) -> str:
    service = event.get("service") or default
    if not service:
        raise ConfigurationError("no service: set JOBWARDEN_SERVICE or pass {'service': ...}")
    if service not in REGISTRY:
        raise ConfigurationError(
            f"unknown service {service!r}; known: {', '.join(sorted(REGISTRY))}"
        )
    return str(service)


def emit_metrics(result: SweepResult) -> None:
    """Only what is not zero, alarmed counts without dimensions and the rest (money saved by
    stops and what dry run would have saved among them) per service for the dashboard
    (`jobwarden.handlers.metrics`)."""
    counts = {
        "JobsSeen": result.seen,
        "JobsStopped": result.stopped,
        "JobsNotified": result.notified,
        "SweepErrors": result.errors,
        "StopFailures": result.stop_failures,
        "MissedEvents": result.missed,
        "AlertsUndelivered": result.undelivered,
        "StaleLeases": result.recovered,
        "CostAvoidedUSD": result.avoided_usd,
        "CostAvoidableUSD": result.avoidable_usd,
    }
    publish(metrics, result.service, counts)


# A record's lease outlives the invocation that wrote it by this much, so no live owner ever
# loses it; once it has passed, the owner is certainly gone (Lambda ended it).
LEASE_MARGIN = timedelta(seconds=60)


def lease_of(context: LambdaContext) -> Lease:
    """This invocation's lease: owned by its request id, which Lambda keeps when it retries
    an asynchronous invocation, so a retry finds its own records and finishes them."""
    left = context.get_remaining_time_in_millis() / 1000
    return Lease(
        owner=context.aws_request_id,
        length=timedelta(seconds=left) + LEASE_MARGIN,
        time_left=lambda: context.get_remaining_time_in_millis() / 1000,
    )


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(raise_on_empty_metrics=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return sweep(event, context)
    except Exception:
        count_failure(metrics)
        raise


def sweep(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    current = runtime()
    check = event.get("check")
    service = service_of(check or event, current.env.service)
    # Deadlines target the function itself, by its unqualified ARN (the one their role may call).
    function_arn = ":".join(context.invoked_function_arn.split(":")[:7])
    # The module-level import of this type makes the cold start load all the code this call
    # runs (`runtime` defers it, so the other function loads none of it; test_cold_import).
    sweeper: Sweeper = current.sweeper(
        function_arn=function_arn, service=service, lease=lease_of(context)
    )
    now = datetime.now(UTC)
    if check:
        region, job_id = str(check["region"]), str(check["job_id"])
        result = sweeper.check(service, region, job_id, str(check.get("name", "")), now)
    else:
        result = sweeper.run(service, now)
    emit_metrics(result)
    logger.info("sweep finished", extra=result.summary())
    if result.every_region_failed:
        raise SweepFailed(f"{service}: listing failed in every region {result.failed_regions}")
    return result.summary()
