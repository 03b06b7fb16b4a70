"""One EventBridge schedule per sweep function, every `sweep_rate_minutes`."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as eventbridge
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.sweeps import construct_name


class SweepSchedules(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        rate_minutes: int,
        dead_letter_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, eventbridge.Rule] = {}
        for service, function in functions.items():
            self.rules[service] = eventbridge.Rule(
                self,
                construct_name(service),
                description=f"jobwarden: sweep {service} every {rate_minutes} min",
                schedule=eventbridge.Schedule.rate(Duration.minutes(rate_minutes)),
                targets=[
                    targets.LambdaFunction(
                        function,
                        # The handler reads the service from the event (or its environment).
                        event=eventbridge.RuleTargetInput.from_object({"service": service}),
                        dead_letter_queue=dead_letter_queue,
                        retry_attempts=2,
                        max_event_age=Duration.minutes(max(rate_minutes, 1)),
                    )
                ],
            )
