"""Stand up jobwarden's own resources in an emulated account (demo and tests)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jobwarden.aws import Clients
from jobwarden.index import ACTIVE_INDEX, ACTIVE_PARTITION
from jobwarden.ledger import (
    BY_DAY_INDEX,
    BY_DAY_PARTITION,
    BY_DAY_SORT,
    OPEN_INDEX,
    OPEN_PARTITION,
    OUTBOX_INDEX,
    OUTBOX_PARTITION,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
)
from jobwarden.policies import DEFAULT_POLICY_PATH, DEFAULT_SETTINGS_PARAMETER

TABLE_NAME = "jobwarden-ledger"
TOPIC_NAME = "jobwarden-alerts"


@dataclass(frozen=True)
class Resources:
    table: str
    topic_arn: str
    queue_url: str


def create_resources(clients: Clients) -> Resources:
    """The ledger table (same keys as the stack), the topic, and a queue that hears it."""
    dynamodb = clients.client("dynamodb")
    attributes = [
        PARTITION_KEY,
        SORT_KEY,
        BY_DAY_PARTITION,
        BY_DAY_SORT,
        OPEN_PARTITION,
        OUTBOX_PARTITION,
        ACTIVE_PARTITION,
    ]
    indexes = [
        (BY_DAY_INDEX, BY_DAY_PARTITION),
        (OPEN_INDEX, OPEN_PARTITION),
        (OUTBOX_INDEX, OUTBOX_PARTITION),
    ]
    dynamodb.create_table(
        TableName=TABLE_NAME,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in attributes],
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": name,
                "KeySchema": [
                    {"AttributeName": partition, "KeyType": "HASH"},
                    {"AttributeName": BY_DAY_SORT, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for name, partition in indexes
        ]
        + [
            {
                "IndexName": ACTIVE_INDEX,
                "KeySchema": [
                    {"AttributeName": ACTIVE_PARTITION, "KeyType": "HASH"},
                    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    dynamodb.update_time_to_live(
        TableName=TABLE_NAME,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    sns = clients.client("sns")
    topic_arn = sns.create_topic(Name=TOPIC_NAME)["TopicArn"]
    sqs = clients.client("sqs")
    queue_url = sqs.create_queue(QueueName="jobwarden-alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return Resources(TABLE_NAME, topic_arn, queue_url)


def put_settings(clients: Clients, settings: dict[str, Any]) -> None:
    clients.client("ssm").put_parameter(
        Name=DEFAULT_SETTINGS_PARAMETER, Value=json.dumps(settings), Type="String", Overwrite=True
    )


def put_policy(clients: Clients, name: str, document: dict[str, Any] | str) -> None:
    value = document if isinstance(document, str) else json.dumps(document)
    clients.client("ssm").put_parameter(
        Name=DEFAULT_POLICY_PATH + name, Value=value, Type="String", Overwrite=True
    )


def received_alerts(clients: Clients, queue_url: str) -> list[dict[str, Any]]:
    """Every SNS envelope waiting on the queue, oldest first."""
    sqs = clients.client("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
        messages = batch.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def create_codebuild_project(
    clients: Clients,
    name: str,
    tags: dict[str, str] | None = None,
    compute_type: str = "BUILD_GENERAL1_SMALL",
    region: str | None = None,
    *,
    repository: str | None = None,
    timeout_minutes: int | None = None,
) -> None:
    """A project building an S3 zip, or, given `repository`, a GitHub repository."""
    source = (
        {"type": "GITHUB", "location": repository}
        if repository
        else {"type": "S3", "location": f"artifacts-bucket/{name}/source.zip"}
    )
    clients.client("codebuild", region).create_project(
        name=name,
        source=source,
        artifacts={"type": "NO_ARTIFACTS"},
        environment={
            "type": "LINUX_CONTAINER",
            "image": "aws/codebuild/standard:7.0",
            "computeType": compute_type,
        },
        serviceRole="arn:aws:iam::123456789012:role/codebuild-service-role",
        tags=[{"key": k, "value": v} for k, v in (tags or {}).items()],
        **({"timeoutInMinutes": timeout_minutes} if timeout_minutes else {}),
    )
