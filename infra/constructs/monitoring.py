"""Alarms that notify the alerts topic, and one dashboard.

Alarms: every function's Errors, every service's StopFailures (a stop the service refused),
AlertsUndelivered (alerts left in the ledger's outbox) and StaleLeases (an open decision whose
owner died, taken over by a later sweep),
anything waiting in the dead-letter queue, and state-change events an adapter could not read
(EventsMalformed: the service changed its event, or the adapter is wrong; the sweeps' full
listings still find those jobs, later). The dashboard shows what the sweeps decide (JobsSeen,
JobsNotified), what they stop (JobsStopped), what went wrong, per service, and how well the
events keep the index: applied, ignored, malformed, and jobs the full listings found that no
event had indexed (MissedEvents).
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
    """A jobwarden metric of one service, as the sweep handler emits it (EMF, Powertools).

    Alarms take it unlabelled: a label turns the alarm into a metric-math one.
    """
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

        for service, function in sweeps.items():
            name = construct_name(service)
            alarm(
                f"{name}SweepErrors",
                function.metric_errors(period=PERIOD, statistic="Sum"),
                f"the {service} sweep failed (see its logs and the dead-letter queue)",
            )
            alarm(
                f"{name}StopFailures",
                service_metric("StopFailures", service, labelled=False),
                f"{service} refused or failed a stop jobwarden asked for",
            )
            alarm(
                f"{name}AlertsUndelivered",
                service_metric("AlertsUndelivered", service, labelled=False),
                f"{service} alerts are waiting in the ledger's outbox (SNS failed); the next "
                "sweep sends them",
            )
            alarm(
                f"{name}StaleLeases",
                service_metric("StaleLeases", service, labelled=False),
                f"a {service} sweep or check died holding a decision; a later sweep finished it",
            )
        alarm(
            "EventsErrors",
            events_function.metric_errors(period=PERIOD, statistic="Sum"),
            "the events function failed",
        )
        if event_services:
            # One alarm for every service's malformed events (metric math over the services).
            alarm(
                "EventsMalformed",
                cloudwatch.MathExpression(
                    expression="SUM(METRICS())",
                    using_metrics={
                        f"malformed{index}": service_metric("EventsMalformed", s, labelled=False)
                        for index, s in enumerate(event_services)
                    },
                    period=PERIOD,
                    label="EventsMalformed",
                ),
                "a state-change event could not be read (see the events function's logs)",
            )
        alarm(
            "DeadLetters",
            dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=PERIOD, statistic="Maximum"
            ),
            "failed invocations or undelivered events are waiting in the dead-letter queue",
        )

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
                + [service_metric("StopFailures", s) for s in services],
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
                + [service_metric("EventsMalformed", s) for s in event_services],
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
