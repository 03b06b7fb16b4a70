"""The services' state-change events: index the job, set or clear its deadline check.

An unknown event, or one missing fields, is logged and counted, never raised: EventBridge
would only retry it, and the sweeps are the safety net for anything missed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobwarden.runtime import Environment, Runtime

logger = Logger(service="jobwarden")
metrics = Metrics(namespace="JobWarden")
tracer = Tracer()

METRIC_OF_KIND = {"ignored": "EventsIgnored", "malformed": "EventsMalformed"}


@cache
def runtime() -> Runtime:
    return Runtime(Environment.from_env())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    reaction = runtime().watcher().handle(event, datetime.now(UTC))
    metrics.add_dimension(name="service", value=reaction.service or "unknown")
    metric = METRIC_OF_KIND.get(reaction.kind, "EventsApplied")
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    about = (
        event
        if not isinstance(event, dict)
        else {k: event.get(k) for k in ("source", "detail-type", "id")}
    )
    if reaction.kind in METRIC_OF_KIND:
        logger.warning(f"event {reaction.kind}: {reaction.why}", extra={"event": about})
    else:
        logger.info("event applied", extra={"event": about, **reaction.summary()})
    return reaction.summary()
