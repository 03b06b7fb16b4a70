"""What the handlers tell CloudWatch (EMF through Powertools), and under which dimensions.

CloudWatch bills a custom metric for every hour it receives a value, per distinct set of
dimensions, so:

- The alarmed metrics (`ALARMED`) are one series each, without dimensions: an alarm watches
  one metric, and the ledger and the logs say which service and job it was about.
- The rest are for the dashboard, per service, and only when the stack has the dashboard
  (the functions' JOBWARDEN_DASHBOARD=true, context `dashboard`). Without it they are not sent:
  the "sweep finished" and "event applied" log lines carry the same counts.
- Zero is never sent: the alarms treat missing data as not breaching, and a gap in a graph
  reads as zero.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

NAMESPACE = "JobWarden"
DASHBOARD_VARIABLE = "JOBWARDEN_DASHBOARD"
# A function invocation that raised (the alarm `FunctionErrors`); what ends a function before
# it can count (a timeout, no memory left, an import error) reaches the dead-letter queue
# after Lambda's retries.
FUNCTION_ERRORS = "FunctionErrors"
ALARMED = frozenset(
    {"StopFailures", "AlertsUndelivered", "StaleLeases", "EventsMalformed", FUNCTION_ERRORS}
)


# Money is in USD, not a count.
UNITS = {"CostAvoidedUSD": MetricUnit.NoUnit, "CostAvoidableUSD": MetricUnit.NoUnit}


def recorder() -> Metrics:
    """The handler's Metrics: no default dimension (Powertools would add `service=jobwarden`
    from POWERTOOLS_SERVICE_NAME, a second series per metric for nothing)."""
    return Metrics(namespace=NAMESPACE, service="")


def dashboard_on(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(DASHBOARD_VARIABLE, "").strip().lower() == "true"


def publish(metrics: Metrics, service: str, counts: Mapping[str, float]) -> None:
    """Record what is not zero: alarmed metrics in the handler's Metrics (flushed when the
    handler returns or raises), dashboard metrics per service if the dashboard is on."""
    dashboard = dashboard_on()
    for name, value in counts.items():
        if not value:
            continue
        if name in ALARMED:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        elif dashboard:
            with single_metric(
                name=name,
                unit=UNITS.get(name, MetricUnit.Count),
                value=value,
                namespace=NAMESPACE,
                default_dimensions={"service": service},
            ):
                pass


def count_failure(metrics: Metrics) -> None:
    metrics.add_metric(name=FUNCTION_ERRORS, unit=MetricUnit.Count, value=1)
