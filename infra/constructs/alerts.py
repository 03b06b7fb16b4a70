"""The alerts topic (SNS, encrypted, TLS only) and the alarms topic (CloudWatch alarms, TLS only).

The alerts topic carries what jobwarden says about jobs (names, tags, owners, reasons): it is
encrypted with the AWS managed SNS key (`alias/aws/sns`), which costs nothing a month and
needs no key policy or IAM grant: that key lets any principal of the account use it through
SNS, and IAM decides who may publish to the topic (the KMS pages this rests on are quoted in
bench/SOURCES.md; the first real deploy is the proof).

CloudWatch alarms cannot publish to a topic encrypted with the AWS managed key (its key policy
cannot name cloudwatch.amazonaws.com), and a customer managed key costs $1 a month, the whole
of an idle account's budget (bench/cost.py). So alarms go to a second topic of their own,
TLS only and not encrypted at rest: an alarm notification carries the alarm's name,
description, metric and threshold, none of the jobs' data. Subscribe to both (the
`alert_email` context subscribes the address to both).
"""

from __future__ import annotations

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.constructs.function import acknowledge

AWS_MANAGED_SNS_KEY = "alias/aws/sns"
ALARMS_TOPIC_REASON = (
    "The alarms topic receives CloudWatch alarm notifications only (alarm name, description, "
    "metric, threshold; no job data). CloudWatch cannot publish to a topic encrypted with the "
    "AWS managed SNS key, and a customer managed key would cost more than an idle deployment's "
    "whole bill; publishing is TLS only, and the job alerts topic stays encrypted."
)


class AlertsTopic(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, alert_email: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="jobwarden alerts",
            master_key=kms.Alias.from_alias_name(self, "SnsKey", AWS_MANAGED_SNS_KEY),
            enforce_ssl=True,
        )
        self.alarms_topic = sns.Topic(
            self,
            "AlarmsTopic",
            display_name="jobwarden alarms",
            enforce_ssl=True,
        )
        # CloudWatch alarms of this account, and nothing else, may publish to it.
        self.alarms_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.alarms_topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:"
                        f"{Aws.ACCOUNT_ID}:alarm:*"
                    },
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        # On the topic itself (its subscriptions need none).
        acknowledge(
            self.alarms_topic.node.default_child,  # type: ignore[arg-type]
            {"AwsSolutions-SNS2": [ALARMS_TOPIC_REASON]},
        )
        if alert_email:
            for topic in (self.topic, self.alarms_topic):
                topic.add_subscription(subscriptions.EmailSubscription(alert_email))
