"""The services' state-change events: index the job, set or clear its deadline check.

An unknown event, or one missing fields, is logged (with its id) and counted, never raised:
EventBridge would only retry it, and the sweeps are the safety net for anything missed. Our own
failures (the parameters, the index, the scheduler) do raise, so Lambda retries those.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from jobwarden.handlers.metrics import count_failure, publish, recorder
from jobwarden.handlers.tracing import tracer as make_tracer
from jobwarden.runtime import Environment, Runtime
from jobwarden.watch import Watcher

logger = Logger(service="jobwarden")
metrics = recorder()
tracer = make_tracer()

METRIC_OF_KIND = {"ignored": "EventsIgnored", "malformed": "EventsMalformed"}


def describe(event: Any) -> dict[str, str]:
    """What a log line says about an event: its id, source and kind, each kept short."""
    fields = event if isinstance(event, dict) else {"payload": event}
    return {
        key: text if len(text := str(fields.get(key))) <= 200 else text[:197] + "..."
        for key in ("id", "source", "detail-type", "payload")
        if key in fields
    }


@cache
def runtime() -> Runtime:
    return Runtime(Environment.from_env())


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    try:
        # The module-level import of this type makes the cold start load all the code this call
        # runs (`runtime` defers it, so the other function loads none of it; test_cold_import).
        watcher: Watcher = runtime().watcher()
        reaction = watcher.handle(event, datetime.now(UTC))
    except Exception:
        count_failure(metrics)
        raise
    metric = METRIC_OF_KIND.get(reaction.kind, "EventsApplied")
    publish(metrics, reaction.service or "unknown", {metric: 1})
    about = describe(event)
    if reaction.kind in METRIC_OF_KIND:
        logger.warning(f"event {reaction.kind}: {reaction.why}", extra={"event": about})
    else:
        logger.info("event applied", extra={"event": about, **reaction.summary()})
    return reaction.summary()
