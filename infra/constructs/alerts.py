"""The alerts topic: SNS encrypted with a customer managed KMS key, TLS only.

The key is customer managed (not `alias/aws/sns`) because CloudWatch alarms cannot publish to
a topic encrypted with the AWS managed key. Its policy is written out rather than CDK's
default `kms:*` for the account: the account may administer the key and use it for
GenerateDataKey/Decrypt (which is what publishing to the topic needs), IAM policies decide
who in the account does; CloudWatch may use it to deliver alarms.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

KEY_ADMIN_ACTIONS = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:CreateGrant",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
# What a publisher needs on the key of an encrypted topic.
KEY_PUBLISH_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


def key_policy() -> iam.PolicyDocument:
    account = iam.AccountRootPrincipal()
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="AccountAdministersKey",
                principals=[account],
                actions=list(KEY_ADMIN_ACTIONS),
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="AccountPublishesThroughIam",
                principals=[account],
                actions=list(KEY_PUBLISH_ACTIONS),
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=list(KEY_PUBLISH_ACTIONS),
                resources=["*"],
            ),
        ]
    )


class AlertsTopic(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, alert_email: str | None = None
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="jobwarden: encrypts the alerts topic",
            enable_key_rotation=True,
            policy=key_policy(),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="jobwarden alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        # The topic policy replaces SNS's default one, so CloudWatch alarms of this account
        # are allowed in by name (the functions publish through their IAM roles).
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={
                    "ArnLike": {
                        "aws:SourceArn": f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:"
                        f"{Aws.ACCOUNT_ID}:alarm:*"
                    },
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        if alert_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alert_email))
