"""Alarms that notify the alarms topic, and, with the context `dashboard`, one dashboard.

Alarms, one metric each (CloudWatch bills alarms per metric): FunctionErrors (an invocation of
any jobwarden function raised), StopFailures (a stop the service refused), AlertsUndelivered
(alerts left in the ledger's outbox), StaleLeases (an open decision whose owner died, taken
over by a later sweep), EventsMalformed (a state-change event an adapter could not read: the
service changed its event, or the adapter is wrong; the sweeps' full listings still find
those jobs, later) and anything waiting in the dead-letter queue, which is also where an
invocation ends that Lambda stopped before it could count itself (a timeout, no memory left,
an import error), after Lambda's retries. The custom metrics carry no dimension
(`jobwarden.handlers.metrics`); the ledger and the logs say which service and job.

With `lambda_error_alarm`, one more alarm sums Lambda's own Errors metric of every function
(metric math: one alarm metric per function), which fires on a timeout at its first attempt.

The dashboard (context `dashboard`) shows what the sweeps decide (JobsSeen, JobsNotified),
what they stop (JobsStopped), what went wrong, per service, and how well the events keep the
index: applied, ignored, malformed, and jobs the full listings found that no event had
indexed (MissedEvents). Its per-service metrics are sent only when it exists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.function import METRICS_NAMESPACE
from infra.constructs.sweeps import construct_name

PERIOD = Duration.minutes(5)
# The events function counts an event no adapter reads under this service dimension.
UNKNOWN_SERVICE = "unknown"


def service_metric(name: str, service: str, labelled: bool = True) -> cloudwatch.Metric:
    """A dashboard metric of one service, as the handlers emit it (EMF, Powertools)."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=PERIOD,
        label=f"{name} {service}" if labelled else None,
    )


def daily_money(name: str, service: str) -> cloudwatch.Metric:
    """A money metric of one service summed per day: savings read by the day, not by sweep."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=Duration.days(1),
        label=f"{service}",
    )


def total_metric(name: str, labelled: bool = True) -> cloudwatch.Metric:
    """An alarmed metric: one series, no dimension (`jobwarden.handlers.metrics`).

    Alarms take it unlabelled: a label turns the alarm into a metric-math one.
    """
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        statistic="Sum",
        period=PERIOD,
        label=name if labelled else None,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        sweeps: Mapping[str, lambda_.IFunction],
        events_function: lambda_.IFunction,
        event_services: Sequence[str],
        topic: sns.ITopic,
        dead_letter_queue: sqs.IQueue,
        dashboard: bool = False,
        lambda_error_alarm: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        notify = actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []

        def alarm(alarm_id: str, metric: cloudwatch.IMetric, description: str) -> None:
            created = cloudwatch.Alarm(
                self,
                alarm_id,
                metric=metric,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=f"jobwarden: {description}",
            )
            created.add_alarm_action(notify)
            created.add_ok_action(notify)
            self.alarms.append(created)

        alarm(
            "FunctionErrors",
            total_metric("FunctionErrors", labelled=False),
            "a jobwarden function failed (see its logs; the dead-letter queue holds what "
            "failed every retry)",
        )
        alarm(
            "StopFailures",
            total_metric("StopFailures", labelled=False),
            "a service refused or failed a stop jobwarden asked for (see the ledger)",
        )
        alarm(
            "AlertsUndelivered",
            total_metric("AlertsUndelivered", labelled=False),
            "alerts are waiting in the ledger's outbox (SNS failed); the next sweep sends them",
        )
        alarm(
            "StaleLeases",
            total_metric("StaleLeases", labelled=False),
            "a sweep or check died holding a decision; a later sweep finished it",
        )
        if event_services:
            alarm(
                "EventsMalformed",
                total_metric("EventsMalformed", labelled=False),
                "a state-change event could not be read (see the events function's logs)",
            )
        if lambda_error_alarm:
            functions = {construct_name(s): f for s, f in sweeps.items()}
            functions["Events"] = events_function
            alarm(
                "LambdaErrors",
                cloudwatch.MathExpression(
                    expression="SUM(METRICS())",
                    using_metrics={
                        f"errors{name}": function.metric_errors(period=PERIOD, statistic="Sum")
                        for name, function in functions.items()
                    },
                    period=PERIOD,
                    label="Errors",
                ),
                "a jobwarden function failed, timed out or ran out of memory (Lambda's Errors)",
            )
        alarm(
            "DeadLetters",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            "failed invocations or undelivered events are waiting in the dead-letter queue",
        )

        self.dashboard: cloudwatch.Dashboard | None = None
        if not dashboard:  # $3 a month: opt in with the context `dashboard`
            return
        services = list(sweeps)
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=Aws.STACK_NAME)
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Decisions: jobs seen and notified",
                left=[service_metric("JobsSeen", s) for s in services]
                + [service_metric("JobsNotified", s) for s in services],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Jobs stopped",
                left=[service_metric("JobsStopped", s) for s in services],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Sweep errors and stop failures",
                left=[service_metric("SweepErrors", s) for s in services]
                + [
                    total_metric(name)
                    for name in ("StopFailures", "StaleLeases", "AlertsUndelivered")
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Function errors",
                left=[
                    sweeps[s].metric_errors(period=PERIOD, statistic="Sum", label=f"sweep {s}")
                    for s in services
                ]
                + [events_function.metric_errors(period=PERIOD, statistic="Sum", label="events")],
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="State-change events: applied, ignored, malformed",
                left=[service_metric("EventsApplied", s) for s in event_services]
                + [service_metric("EventsIgnored", s) for s in [*event_services, UNKNOWN_SERVICE]]
                + [total_metric("EventsMalformed")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Missed events: active jobs only a full listing found",
                left=[service_metric("MissedEvents", s) for s in services],
                width=12,
            ),
        )
        # What the stops saved, per service and per day (savings.py; emitted only when
        # non-zero), and what dry run's would-stops would have saved.
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Cost avoided by stops (USD per day)",
                left=[daily_money("CostAvoidedUSD", s) for s in services],
                stacked=True,
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Cost dry run would have avoided (USD per day)",
                left=[daily_money("CostAvoidableUSD", s) for s in services],
                stacked=True,
                width=12,
            ),
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24)
        )
