"""State-change events from EventBridge: for now they are logged and counted, nothing more.

`SUBSCRIPTIONS` names the events each service sends; the stack subscribes the function to
them. A later issue replaces the body of `handler` with the real flow (adapter.from_event).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

# service name -> (EventBridge source, detail types). CodeBuild batch builds are reported
# build by build, with the same event as single builds.
SUBSCRIPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "codebuild": ("aws.codebuild", ("CodeBuild Build State Change",)),
    "codebuild-batch": ("aws.codebuild", ("CodeBuild Build State Change",)),
    "glue": ("aws.glue", ("Glue Job State Change", "Glue Job Run Status")),
    "batch": ("aws.batch", ("Batch Job State Change",)),
    "amplify": ("aws.amplify", ("Amplify Deployment Status Change",)),
}
KNOWN_EVENTS = frozenset(
    (source, detail_type)
    for source, detail_types in SUBSCRIPTIONS.values()
    for detail_type in detail_types
)
UNKNOWN = "unknown"

logger = Logger()
metrics = Metrics()
tracer = Tracer()


def service_of(source: object) -> str:
    """`aws.codebuild` -> `codebuild`; anything else -> `unknown`."""
    if isinstance(source, str) and source.startswith("aws.") and len(source) > len("aws."):
        return source.removeprefix("aws.")
    return UNKNOWN


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    fields = event if isinstance(event, dict) else {}
    source = fields.get("source")
    detail_type = fields.get("detail-type")
    metrics.add_dimension(name="service", value=service_of(source))
    about = {"source": source, "detail_type": detail_type, "event_id": fields.get("id")}
    subscribed = (
        isinstance(source, str)
        and isinstance(detail_type, str)
        and (source, detail_type) in KNOWN_EVENTS
    )
    if not subscribed:
        logger.warning("event ignored: not a subscribed state change", extra=about)
        metrics.add_metric(name="EventsIgnored", unit=MetricUnit.Count, value=1)
        return {"ignored": detail_type if isinstance(detail_type, str) else None}
    logger.info("event received", extra=about)
    metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=1)
    return {"received": detail_type}
