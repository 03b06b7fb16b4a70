"""IAM: every statement of every function, exactly; sweep grants come from the registry.

A widened permission (another action, a broader resource, a managed policy) fails here.
"""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from jobwarden.services import REGISTRY
from jobwarden.services.base import Grant, ServiceAdapter

from infra.constructs.sweeps import GrantError, arn_region, render_grants
from tests.infra.conftest import Synth, normalized

CODEBUILD_PROJECTS = "arn:${AWS::Partition}:codebuild:${AWS::Region}:${AWS::AccountId}:project/*"
PARAMETER = "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/"
SCHEDULES = (
    "arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:"
    "schedule/jobwarden-deadlines/*"
)


def arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def function_basics(synth: Synth, function_id: str) -> list[dict[str, Any]]:
    """What every function holds: its own log group, the dead-letter queue, and X-Ray where
    tracing is on."""
    queue_id, _ = synth.only("AWS::SQS::Queue")
    log_group = synth.resources[function_id]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    xray = {
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Effect": "Allow",
        "Resource": "*",
    }
    return [
        {"Action": "sqs:SendMessage", "Effect": "Allow", "Resource": arn(queue_id)},
        *([xray] if synth.stack.config.tracing.active else []),
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": arn(log_group),
        },
    ]


def configuration_reads() -> list[dict[str, Any]]:
    """Loading the policies (the path and beneath it) and the settings document."""
    return [
        {
            "Action": "ssm:GetParametersByPath",
            "Effect": "Allow",
            "Resource": [
                {"Fn::Sub": PARAMETER + "jobwarden/policies"},
                {"Fn::Sub": PARAMETER + "jobwarden/policies/*"},
            ],
        },
        {
            "Action": "ssm:GetParameter",
            "Effect": "Allow",
            "Resource": {"Fn::Sub": PARAMETER + "jobwarden/settings"},
        },
    ]


def deadline_scheduling(synth: Synth) -> list[dict[str, Any]]:
    """Managing the group's schedules, and passing the Scheduler role to Scheduler only."""
    return [
        {
            "Action": [
                "scheduler:CreateSchedule",
                "scheduler:UpdateSchedule",
                "scheduler:DeleteSchedule",
            ],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": SCHEDULES},
        },
        {
            "Action": "iam:PassRole",
            "Condition": {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": arn(synth.scheduler_role()),
        },
    ]


def sweep_flow(synth: Synth) -> list[dict[str, Any]]:
    """What every sweep holds besides its service: policies, settings, ledger and index,
    alerts, deadlines."""
    table_id, _ = synth.only("AWS::DynamoDB::Table")
    topic_id, _ = synth.alerts_topic()
    return [
        *configuration_reads(),
        {
            # Claims, decisions, the active-jobs index and the reconcile marker; the by-day
            # index (the CLI's report) is not granted.
            "Action": [
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
                "dynamodb:Query",
            ],
            "Effect": "Allow",
            "Resource": arn(table_id),
        },
        {
            # Recovery (open decisions) and the alert outbox read their sparse indexes only.
            "Action": "dynamodb:Query",
            "Effect": "Allow",
            "Resource": [
                {"Fn::Join": ["", [arn(table_id), "/index/open"]]},
                {"Fn::Join": ["", [arn(table_id), "/index/outbox"]]},
                {"Fn::Join": ["", [arn(table_id), "/index/active"]]},
            ],
        },
        # The topic's key is the AWS managed one for SNS: no KMS statement.
        {"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": topic_id}},
        *deadline_scheduling(synth),
    ]


def declared(adapter: type[ServiceAdapter], region: str) -> list[dict[str, Any]]:
    """An adapter's grants as the statements we expect, filled independently of the stack."""
    statements = []
    for grant in adapter.grants:
        resources = [
            "*"
            if template == "*"
            else {
                "Fn::Sub": template.format(
                    partition="${AWS::Partition}", region=region, account="${AWS::AccountId}"
                )
            }
            for template in grant.resources
        ]
        statement = {
            "Action": list(grant.actions),
            "Effect": "Allow",
            "Resource": resources if len(resources) > 1 else resources[0],
        }
        if grant.conditions:
            statement["Condition"] = {k: dict(v) for k, v in grant.conditions.items()}
        statements.append(statement)
    return statements


def test_codebuild_sweep_holds_exactly_these_statements(default_synth: Synth) -> None:
    function_id, _ = default_synth.sweep_functions()["codebuild"]
    expected = [
        *function_basics(default_synth, function_id),
        *sweep_flow(default_synth),
        # ListBuilds has no resource type: it can only be granted on "*".
        {"Action": "codebuild:ListBuilds", "Effect": "Allow", "Resource": "*"},
        {
            "Action": [
                "codebuild:BatchGetBuilds",
                "codebuild:BatchGetProjects",
                "codebuild:StopBuild",
            ],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": CODEBUILD_PROJECTS},
        },
    ]
    assert normalized(default_synth.statements_of(function_id)) == normalized(expected)


# Each sweep's own statements, written out by hand (not derived from the adapters' grants):
# an extra action or a broader resource in any adapter's grant fails here.
AMPLIFY_APPS = "arn:${AWS::Partition}:amplify:${AWS::Region}:${AWS::AccountId}:apps/*"
BATCH_JOBS = "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:job/*"
BATCH = "arn:${AWS::Partition}:batch:${AWS::Region}:${AWS::AccountId}:"
GLUE_JOBS = "arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:job/*"
SERVICE_STATEMENTS: dict[str, list[dict[str, Any]]] = {
    "codebuild": [
        {"Action": "codebuild:ListBuilds", "Effect": "Allow", "Resource": "*"},
        {
            "Action": [
                "codebuild:BatchGetBuilds",
                "codebuild:BatchGetProjects",
                "codebuild:StopBuild",
            ],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": CODEBUILD_PROJECTS},
        },
    ],
    "codebuild-batch": [
        # ListBuildBatches has no resource type: it can only be granted on "*".
        {"Action": "codebuild:ListBuildBatches", "Effect": "Allow", "Resource": "*"},
        {
            "Action": [
                "codebuild:BatchGetBuildBatches",
                "codebuild:StopBuildBatch",
                "codebuild:RetryBuildBatch",
                "codebuild:StartBuildBatch",
                "codebuild:BatchGetProjects",
            ],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": CODEBUILD_PROJECTS},
        },
    ],
    "glue": [
        # GetJobs lists the account's jobs and takes no job ARN.
        {"Action": "glue:GetJobs", "Effect": "Allow", "Resource": "*"},
        {
            "Action": [
                "glue:BatchGetJobs",
                "glue:GetJobRuns",
                "glue:GetJobRun",
                "glue:BatchStopJobRun",
                "glue:GetTags",
            ],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": GLUE_JOBS},
        },
    ],
    "batch": [
        # Batch's Describe and List actions support no resource-level permissions.
        {
            "Action": ["batch:DescribeJobQueues", "batch:ListJobs", "batch:DescribeJobs"],
            "Effect": "Allow",
            "Resource": "*",
        },
        {
            "Action": ["batch:TerminateJob", "batch:CancelJob"],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": BATCH_JOBS},
        },
        # A resubmission to a policy's fallback queue: the queue and the job's definition.
        {
            "Action": "batch:SubmitJob",
            "Effect": "Allow",
            "Resource": [
                {"Fn::Sub": BATCH + "job-queue/*"},
                {"Fn::Sub": BATCH + "job-definition/*:*"},
            ],
        },
        # Tags on the copy, only as part of its SubmitJob.
        {
            "Action": "batch:TagResource",
            "Condition": {"StringEquals": {"batch:CreateAction": "SubmitJob"}},
            "Effect": "Allow",
            "Resource": {"Fn::Sub": BATCH_JOBS},
        },
    ],
    "amplify": [
        # ListApps has no resource type: it can only be granted on "*".
        {"Action": "amplify:ListApps", "Effect": "Allow", "Resource": "*"},
        {
            "Action": ["amplify:GetApp", "amplify:ListBranches"],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": AMPLIFY_APPS},
        },
        {
            "Action": ["amplify:GetBranch", "amplify:ListJobs"],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": AMPLIFY_APPS + "/branches/*"},
        },
        {
            "Action": ["amplify:GetJob", "amplify:StopJob", "amplify:StartJob"],
            "Effect": "Allow",
            "Resource": {"Fn::Sub": AMPLIFY_APPS + "/branches/*/jobs/*"},
        },
    ],
}


def any_region(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same statements with every ARN's region "*", as when several regions are swept."""
    return cast(
        list[dict[str, Any]],
        json.loads(json.dumps(statements).replace("${AWS::Region}", "*")),
    )


def test_every_sweep_function_has_literal_expectations(
    default_synth: Synth, custom_synth: Synth
) -> None:
    """A new sweep function needs its statements written out above."""
    for synth in (default_synth, custom_synth):
        assert sorted(synth.sweep_functions()) == sorted(SERVICE_STATEMENTS)


@pytest.mark.parametrize("service", sorted(SERVICE_STATEMENTS))
def test_each_sweep_holds_exactly_its_literal_statements(
    default_synth: Synth, service: str
) -> None:
    function_id, _ = default_synth.sweep_functions()[service]
    expected = [
        *function_basics(default_synth, function_id),
        *sweep_flow(default_synth),
        *SERVICE_STATEMENTS[service],
    ]
    assert normalized(default_synth.statements_of(function_id)) == normalized(expected)


@pytest.mark.parametrize("service", sorted(SERVICE_STATEMENTS))
def test_each_sweep_holds_exactly_its_literal_statements_in_any_region(
    custom_synth: Synth, service: str
) -> None:
    """Several regions: the service's ARNs name any region; the flow's stay in the stack's."""
    function_id, _ = custom_synth.sweep_functions()[service]
    expected = [
        *function_basics(custom_synth, function_id),
        *sweep_flow(custom_synth),
        *any_region(SERVICE_STATEMENTS[service]),
    ]
    assert normalized(custom_synth.statements_of(function_id)) == normalized(expected)


def test_events_function_holds_exactly_these_statements(default_synth: Synth) -> None:
    """Configuration, index updates and deadlines; no stop rights, no alerts, no deletes."""
    function_id, _ = default_synth.events_function()
    table_id, _ = default_synth.only("AWS::DynamoDB::Table")
    expected = [
        *function_basics(default_synth, function_id),
        *configuration_reads(),
        {"Action": "dynamodb:UpdateItem", "Effect": "Allow", "Resource": arn(table_id)},
        *deadline_scheduling(default_synth),
    ]
    assert normalized(default_synth.statements_of(function_id)) == normalized(expected)


def test_scheduler_role_invokes_the_sweep_functions_only(
    default_synth: Synth, custom_synth: Synth
) -> None:
    for synth in (default_synth, custom_synth):
        role_id = synth.scheduler_role()
        (group_id, _) = synth.only("AWS::Scheduler::ScheduleGroup")
        role = synth.resources[role_id]["Properties"]
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                    "ArnEquals": {"aws:SourceArn": arn(group_id)},
                },
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
            }
        ]
        sweeps = [function_id for function_id, _ in synth.sweep_functions().values()]
        assert len(sweeps) == len(REGISTRY)
        # Unqualified ARNs only: the stack publishes no versions or aliases.
        assert normalized(synth.role_statements(role_id)) == normalized(
            [
                {
                    "Action": "lambda:InvokeFunction",
                    "Effect": "Allow",
                    "Resource": [arn(f) for f in sweeps] if len(sweeps) > 1 else arn(sweeps[0]),
                }
            ]
        )


def test_deadline_targets_and_role_reach_the_functions(default_synth: Synth) -> None:
    """The runtime's JOBWARDEN_DEADLINE_* and JOBWARDEN_SWEEP_FUNCTIONS name these resources."""
    role = arn(default_synth.scheduler_role())
    events_id, events = default_synth.events_function()
    variables = events["Properties"]["Environment"]["Variables"]
    assert variables["JOBWARDEN_DEADLINE_ROLE_ARN"] == role
    assert variables["JOBWARDEN_DEADLINE_GROUP"] == "jobwarden-deadlines"
    sweeps = default_synth.sweep_functions()
    assert rendered(variables["JOBWARDEN_SWEEP_FUNCTIONS"]) == {
        service: f"<{function_id}.Arn>" for service, (function_id, _) in sweeps.items()
    }
    for function_id, function in sweeps.values():
        env = function["Properties"]["Environment"]["Variables"]
        assert env["JOBWARDEN_DEADLINE_ROLE_ARN"] == role
        assert env["JOBWARDEN_DEADLINE_GROUP"] == "jobwarden-deadlines"
        assert function_id != events_id


def rendered(join: dict[str, Any]) -> Any:
    """The JSON an Fn::Join of strings and GetAtts becomes, each GetAtt as `<id.Attr>`."""
    delimiter, parts = join["Fn::Join"]
    text = delimiter.join(
        part if isinstance(part, str) else "<{}.{}>".format(*part["Fn::GetAtt"]) for part in parts
    )
    return json.loads(text)


@pytest.mark.parametrize("service", sorted(REGISTRY))
def test_each_sweep_holds_its_adapters_grants_and_nothing_else(
    default_synth: Synth, service: str
) -> None:
    adapter = REGISTRY[service]
    function_id, _ = default_synth.sweep_functions()[service]
    statements = normalized(default_synth.statements_of(function_id))
    grants = declared(adapter, "${AWS::Region}")
    for grant in normalized(grants):
        assert grant in statements, f"{service}: declared grant missing: {grant}"
    assert statements == normalized(
        [*function_basics(default_synth, function_id), *sweep_flow(default_synth), *grants]
    )
    own = {a for s in statements for a in s["Action"]} - {
        a
        for s in normalized(function_basics(default_synth, function_id) + sweep_flow(default_synth))
        for a in s["Action"]
    }
    assert own == adapter.iam_actions()


def test_every_registered_grant_is_well_formed() -> None:
    """Walk the registry like Cloud Custodian's permission test: declared, listed, justified."""
    for name, adapter in REGISTRY.items():
        assert adapter.name == name
        assert adapter.grants, f"{name} declares no grants"
        for grant in adapter.grants:
            assert grant.actions
            for action in grant.actions:
                service, _, operation = action.partition(":")
                assert service, action
                assert operation, action
                assert "*" not in action, action
            for resource in grant.resources:
                if resource == "*":
                    assert grant.why_any_resource, f"{name}: {grant.actions} on * needs a why"
                else:
                    assert resource.startswith("arn:{partition}:"), resource


def test_sweeps_use_any_region_in_arns_when_several_are_swept(custom_synth: Synth) -> None:
    function_id, _ = custom_synth.sweep_functions()["codebuild"]
    statements = normalized(custom_synth.statements_of(function_id))
    any_region = CODEBUILD_PROJECTS.replace("${AWS::Region}", "*")
    assert {
        "Action": [
            "codebuild:BatchGetBuilds",
            "codebuild:BatchGetProjects",
            "codebuild:StopBuild",
        ],
        "Effect": "Allow",
        "Resource": [{"Fn::Sub": any_region}],
    } in statements
    assert CODEBUILD_PROJECTS not in json.dumps(statements)
    # The flow's own resources (table, topic, parameters, schedules) stay in the stack's
    # region: the deadline checks are scheduled where the functions run.
    for statement in normalized(sweep_flow(custom_synth)):
        assert statement in statements


def policy_documents(node: Any) -> list[dict[str, Any]]:
    """Every policy document (anything with a Statement) anywhere under `node`."""
    if isinstance(node, dict):
        found = [node] if "Statement" in node else []
        return found + [d for value in node.values() for d in policy_documents(value)]
    if isinstance(node, list):
        return [d for value in node for d in policy_documents(value)]
    return []


def test_no_allow_statement_anywhere_grants_every_action(
    default_synth: Synth, custom_synth: Synth
) -> None:
    for synth in (default_synth, custom_synth):
        documents = policy_documents(synth.resources)
        assert documents
        for document in documents:
            for statement in document["Statement"]:
                assert "NotAction" not in statement
                assert "NotResource" not in statement
                if statement["Effect"] != "Allow":
                    continue
                actions = statement["Action"]
                for action in actions if isinstance(actions, list) else [actions]:
                    assert action != "*", statement
                    assert not action.endswith(":*"), statement


def test_each_function_has_a_role_of_its_own_for_lambda_only(default_synth: Synth) -> None:
    functions = default_synth.of_type("AWS::Lambda::Function")
    roles = default_synth.of_type("AWS::IAM::Role")
    roles.pop(default_synth.scheduler_role())
    assert sorted(default_synth.role_of(f) for f in functions) == sorted(roles)
    for role in roles.values():
        assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Action": "sts:AssumeRole",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ]


class _Fake:
    name = "fake"
    grants: tuple[Grant, ...] = ()


def fake(*grants: Grant) -> type[ServiceAdapter]:
    return cast(type[ServiceAdapter], type("Fake", (_Fake,), {"grants": grants}))


def test_arn_region_follows_the_regions_context() -> None:
    assert arn_region([]) == "${AWS::Region}"
    assert arn_region(["eu-west-1"]) == "eu-west-1"
    assert arn_region(["eu-west-1", "us-east-1"]) == "*"


def test_render_grants_fills_templates() -> None:
    adapter = fake(
        Grant(("glue:GetJobRuns",), ("arn:{partition}:glue:{region}:{account}:job/*",)),
        Grant(("glue:GetJobs",), why_any_resource="no resource type"),
    )
    rendered = render_grants(adapter, ["eu-west-1"])
    assert [g.resources for g in rendered] == [
        ("arn:${AWS::Partition}:glue:eu-west-1:${AWS::AccountId}:job/*",),
        ("*",),
    ]
    assert rendered[1].reason == "no resource type"


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        (Grant(("glue:Get*",), ("arn:{partition}:glue:{region}:{account}:job/*",)), "list the"),
        (Grant(("glue:*",), why_any_resource="x"), "list the"),
        (Grant(("glue:GetJobs",)), "needs why_any_resource"),
        (Grant(("glue:GetJobs",), ("arn:{partition}:glue:{zone}:{account}:job/*",)), "{zone}"),
        (Grant((), why_any_resource="x"), "no actions"),
    ],
)
def test_render_grants_refuses_what_least_privilege_forbids(grant: Grant, message: str) -> None:
    with pytest.raises(GrantError, match="fake") as error:
        render_grants(fake(grant), [])
    assert message in str(error.value)


ROUTED_TOPICS = (
    "arn:aws:sns:us-east-1:111122223333:data-team-alerts",
    "arn:aws:sns:eu-west-1:111122223333:web-team-alerts",
)


@pytest.fixture(scope="module")
def routed_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    from tests.infra.conftest import synthesize

    context = {"services": "codebuild,glue", "notify_topics": ",".join(ROUTED_TOPICS)}
    return synthesize(context, tmp_path_factory.mktemp("cdk-routed"))


def publishes(synth: Synth, function_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for statement in normalized(synth.statements_of(function_id))
        if "sns:Publish" in statement["Action"]
    ]


def test_routed_topics_are_granted_literally_and_nothing_more(routed_synth: Synth) -> None:
    """Policies in SSM may name topics the stack cannot see at synth time: the deployer lists
    them in the `notify_topics` context, and each sweep may publish to exactly those."""
    assert routed_synth.validation_error is None  # cdk-nag finds nothing new
    topic_id, _ = routed_synth.alerts_topic()
    for function_id, function in routed_synth.sweep_functions().values():
        assert publishes(routed_synth, function_id) == normalized(
            [
                {"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": topic_id}},
                {"Action": "sns:Publish", "Effect": "Allow", "Resource": list(ROUTED_TOPICS)},
            ]
        )
        variables = function["Properties"]["Environment"]["Variables"]
        assert json.loads(variables["JOBWARDEN_NOTIFY_TOPICS"]) == list(ROUTED_TOPICS)
    events_id, _ = routed_synth.events_function()
    assert publishes(routed_synth, events_id) == []  # the events function alerts no one


def test_without_routed_topics_a_sweep_publishes_to_the_platform_topic_only(
    default_synth: Synth,
) -> None:
    topic_id, _ = default_synth.alerts_topic()
    for function_id, function in default_synth.sweep_functions().values():
        assert publishes(default_synth, function_id) == normalized(
            [{"Action": "sns:Publish", "Effect": "Allow", "Resource": {"Ref": topic_id}}]
        )
        assert function["Properties"]["Environment"]["Variables"]["JOBWARDEN_NOTIFY_TOPICS"] == "[]"
