"""Deadlines: the EventBridge Scheduler group that holds each job's one-time check, and the
role Scheduler assumes to invoke the sweep functions (layout in `jobwarden.deadlines`).

The events function schedules a check for the moment a job could first pass a limit; the
service's own sweep function runs it and may move it. Both manage schedules in this group
only, and may pass this role to Scheduler only. The role may invoke the deployed sweep
functions and nothing else: no events function, no other Lambda, no other service.

Only the unqualified function ARNs are granted. The stack publishes no versions or aliases;
schedules target what the runtime passes, the events function's JOBWARDEN_SWEEP_FUNCTIONS
(unqualified ARNs, from here) or a sweep's own `invoked_function_arn`, which is unqualified
because the rules and the schedules invoke the unqualified ARN.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Fn, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct
from jobwarden.deadlines import GROUP

from infra.constructs.function import nag_form

SCHEDULER = "scheduler.amazonaws.com"
# What the runtime calls (`SchedulerDeadlines`): create a check, move it when it exists
# (ConflictException), delete it when the job ends first.
SCHEDULE_ACTIONS = (
    "scheduler:CreateSchedule",
    "scheduler:UpdateSchedule",
    "scheduler:DeleteSchedule",
)


def schedules_template(group: str) -> str:
    """Every schedule of the group, as an Fn::Sub template."""
    return (
        f"arn:${{AWS::Partition}}:scheduler:${{AWS::Region}}:${{AWS::AccountId}}:schedule/{group}/*"
    )


class Deadlines(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, group_name: str = GROUP) -> None:
        super().__init__(scope, construct_id)
        # Schedules are transient (they delete themselves once they fire) and point at this
        # stack's functions, so the group and whatever is left in it go with the stack.
        self.group = scheduler.ScheduleGroup(
            self,
            "Group",
            schedule_group_name=group_name,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.group_name = group_name
        # Confused-deputy guard: Scheduler may assume the role only for schedules of this
        # account, in this group.
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                SCHEDULER,
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnEquals": {"aws:SourceArn": self.group.schedule_group_arn},
                },
            ),
            description="jobwarden: EventBridge Scheduler invokes the sweeps' deadline checks",
        )
        template = schedules_template(group_name)
        self.schedules_arn = Fn.sub(template)
        self.schedules_nag = nag_form(template)

    @property
    def environment(self) -> dict[str, str]:
        """What a function that schedules checks needs to know (`jobwarden.runtime`)."""
        return {
            "JOBWARDEN_DEADLINE_ROLE_ARN": self.role.role_arn,
            "JOBWARDEN_DEADLINE_GROUP": self.group_name,
        }

    @property
    def nag_finding(self) -> str:
        return f"AwsSolutions-IAM5[Resource::{self.schedules_nag}]"

    @property
    def nag_reason(self) -> str:
        return (
            f"{', '.join(SCHEDULE_ACTIONS)}: one schedule per watched job, named at run time "
            f"from a hash of the job's id, so the grant covers the schedules of the "
            f"{self.group_name} group and no other group."
        )

    def scheduling_statements(self) -> list[iam.PolicyStatement]:
        """Manage checks in the group, and hand Scheduler this role (and no other)."""
        return [
            iam.PolicyStatement(actions=list(SCHEDULE_ACTIONS), resources=[self.schedules_arn]),
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": SCHEDULER}},
            ),
        ]

    def allow_invoking(self, functions: Mapping[str, lambda_.IFunction]) -> None:
        """Let Scheduler run the checks: invoke exactly these functions."""
        if not functions:
            return
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[functions[service].function_arn for service in sorted(functions)],
            )
        )
