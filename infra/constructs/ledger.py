"""The ledger: one DynamoDB table of decisions and claims (layout in `jobwarden.ledger`).

The key names come from the runtime package so the two can never drift apart.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct
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


class LedgerTable(Construct):
    """On-demand, point-in-time recovery, encrypted, kept when the stack goes (the audit trail)."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=string),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.AWS_MANAGED,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.table.add_global_secondary_index(
            index_name=BY_DAY_INDEX,
            partition_key=dynamodb.Attribute(name=BY_DAY_PARTITION, type=string),
            sort_key=dynamodb.Attribute(name=BY_DAY_SORT, type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
        # Sparse indexes: an item is in them only while a decision is open (recovery reads
        # it) or its alert undelivered (the outbox), so reading them costs what is pending.
        for index_name, partition in (
            (OPEN_INDEX, OPEN_PARTITION),
            (OUTBOX_INDEX, OUTBOX_PARTITION),
        ):
            self.table.add_global_secondary_index(
                index_name=index_name,
                partition_key=dynamodb.Attribute(name=partition, type=string),
                sort_key=dynamodb.Attribute(name=BY_DAY_SORT, type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )
        # The active-jobs index (`jobwarden.index`): an index item holds its key only while
        # its job is active, so a sweep's query reads no tombstone.
        self.table.add_global_secondary_index(
            index_name=ACTIVE_INDEX,
            partition_key=dynamodb.Attribute(name=ACTIVE_PARTITION, type=string),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=string),
            projection_type=dynamodb.ProjectionType.ALL,
        )
