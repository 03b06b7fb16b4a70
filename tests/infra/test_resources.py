"""Every resource of the default stack, with the properties that matter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Match, Template
from jobwarden.ledger import (
    BY_DAY_INDEX,
    BY_DAY_PARTITION,
    BY_DAY_SORT,
    PARTITION_KEY,
    SORT_KEY,
    TTL_ATTRIBUTE,
)
from jobwarden.model import Action, Mode
from jobwarden.policies import parse_policy, parse_settings
from jobwarden.services import REGISTRY
from jobwarden.services.base import ServiceAdapter

from infra import package
from infra.constructs.events import SubscriptionError, subscriptions
from infra.constructs.function import RUNTIME, JobWardenFunction, LambdaAssets, TraceLevel
from infra.constructs.parameters import example_policy_document
from tests.infra.conftest import Synth

POWERTOOLS_LAYER = (
    "arn:${AWS::Partition}:lambda:${AWS::Region}:017000801446:layer:"
    "AWSLambdaPowertoolsPythonV3-python312-arm64:27"
)


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def test_ledger_table(default_synth: Synth) -> None:
    table_id, table = default_synth.only("AWS::DynamoDB::Table")
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
    ]
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        (
            {"AttributeName": name, "AttributeType": "S"}
            for name in (
                PARTITION_KEY,
                SORT_KEY,
                BY_DAY_PARTITION,
                BY_DAY_SORT,
                "open",
                "outbox",
                "active_pk",
            )
        ),
        key=lambda a: a["AttributeName"],
    )
    # by-day for the CLI; the sparse open and outbox indexes for recovery and the outbox.
    assert props["GlobalSecondaryIndexes"] == [
        {
            "IndexName": name,
            "KeySchema": [
                {"AttributeName": partition, "KeyType": "HASH"},
                {"AttributeName": BY_DAY_SORT, "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
        for name, partition in (
            (BY_DAY_INDEX, BY_DAY_PARTITION),
            ("open", "open"),
            ("outbox", "outbox"),
        )
    ] + [
        {
            # The active jobs: an index item holds `active_pk` only while its job runs, so a
            # sweep's query never reads a tombstone.
            "IndexName": "active",
            "KeySchema": [
                {"AttributeName": "active_pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "Projection": {"ProjectionType": "ALL"},
        }
    ]
    assert props["TimeToLiveSpecification"] == {
        "AttributeName": TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["DeletionProtectionEnabled"] is True
    assert table_id.startswith("Ledger")


def test_no_customer_managed_key(default_synth: Synth, custom_synth: Synth) -> None:
    # A customer managed key is $1 a month, an idle deployment's whole budget.
    assert default_synth.of_type("AWS::KMS::Key") == {}
    assert custom_synth.of_type("AWS::KMS::Key") == {}


def tls_only(synth: Synth, topic_id: str) -> list[dict[str, Any]]:
    """The topic's policy statements, after checking it refuses publishing without TLS."""
    (policy,) = [
        r["Properties"]
        for r in synth.of_type("AWS::SNS::TopicPolicy").values()
        if r["Properties"]["Topics"] == [ref(topic_id)]
    ]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    deny = [s for s in statements if s["Effect"] == "Deny"]
    assert deny == [
        {
            "Action": "sns:Publish",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": "*",
            "Resource": ref(topic_id),
            "Sid": "AllowPublishThroughSSLOnly",
        }
    ]
    return statements


def test_alerts_topic_is_encrypted_and_tls_only(default_synth: Synth) -> None:
    topic_id, topic = default_synth.alerts_topic()
    assert topic["Properties"]["KmsMasterKeyId"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                ref("AWS::Partition"),
                ":kms:",
                ref("AWS::Region"),
                ":",
                ref("AWS::AccountId"),
                ":alias/aws/sns",
            ],
        ]
    }
    # Only the functions publish, through their roles: no one is let in by the topic policy.
    statements = tls_only(default_synth, topic_id)
    assert [s for s in statements if s["Effect"] == "Allow"] == []


def test_alarms_topic_is_tls_only_and_open_to_this_accounts_alarms(default_synth: Synth) -> None:
    topic_id, topic = default_synth.alarms_topic()
    assert "KmsMasterKeyId" not in topic["Properties"]
    statements = tls_only(default_synth, topic_id)
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == ref(topic_id)
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
    assert "ArnLike" in allow["Condition"]


def test_dead_letter_queue_is_encrypted_and_tls_only(default_synth: Synth) -> None:
    queue_id, queue = default_synth.only("AWS::SQS::Queue")
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    _, policy = default_synth.only("AWS::SQS::QueuePolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert {
        "Action": "sqs:*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Resource": arn(queue_id),
    } in statements
    # EventBridge may only send the events of this stack's own rules.
    rule_ids = set(default_synth.of_type("AWS::Events::Rule"))
    allowed = [s for s in statements if s["Effect"] == "Allow"]
    assert {s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0] for s in allowed} == (
        rule_ids
    )
    for statement in allowed:
        assert statement["Principal"] == {"Service": "events.amazonaws.com"}
        assert statement["Action"] == "sqs:SendMessage"


def test_one_sweep_function_per_registered_service(default_synth: Synth) -> None:
    queue_id, _ = default_synth.only("AWS::SQS::Queue")
    table_id, _ = default_synth.only("AWS::DynamoDB::Table")
    topic_id, _ = default_synth.alerts_topic()
    sweeps = default_synth.sweep_functions()
    assert sorted(sweeps) == sorted(REGISTRY)
    for service, (function_id, function) in sweeps.items():
        props = function["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["MemorySize"] == 256
        assert props["Timeout"] == 300
        assert props["ReservedConcurrentExecutions"] == 1
        assert "TracingConfig" not in props  # X-Ray off unless the context turns it on
        assert props["Layers"] == [{"Fn::Sub": POWERTOOLS_LAYER}]
        assert props["DeadLetterConfig"] == {"TargetArn": arn(queue_id)}
        assert props["Environment"]["Variables"] == {
            "JOBWARDEN_SERVICE": service,
            "JOBWARDEN_TABLE": ref(table_id),
            "JOBWARDEN_TOPIC_ARN": ref(topic_id),
            "JOBWARDEN_POLICY_PATH": "/jobwarden/policies/",
            "JOBWARDEN_SETTINGS_PARAMETER": "/jobwarden/settings",
            "JOBWARDEN_NOTIFY_TOPICS": "[]",
            "JOBWARDEN_DEADLINE_ROLE_ARN": arn(default_synth.scheduler_role()),
            "JOBWARDEN_DEADLINE_GROUP": "jobwarden-deadlines",
            "POWERTOOLS_SERVICE_NAME": "jobwarden",
            "POWERTOOLS_METRICS_NAMESPACE": "JobWarden",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        log_group_id = props["LoggingConfig"]["LogGroup"]["Ref"]
        log_group = default_synth.resources[log_group_id]
        assert log_group["Type"] == "AWS::Logs::LogGroup"
        assert log_group["Properties"]["RetentionInDays"] == 30
        invoke = [
            r["Properties"]
            for r in default_synth.of_type("AWS::Lambda::EventInvokeConfig").values()
            if r["Properties"]["FunctionName"] == ref(function_id)
        ]
        assert invoke == [
            {
                "FunctionName": ref(function_id),
                "MaximumEventAgeInSeconds": 300,
                "MaximumRetryAttempts": 0,
                "Qualifier": "$LATEST",
            }
        ]


def test_one_schedule_per_sweep_function(default_synth: Synth) -> None:
    queue_id, _ = default_synth.only("AWS::SQS::Queue")
    schedules = {
        k: r
        for k, r in default_synth.of_type("AWS::Events::Rule").items()
        if "ScheduleExpression" in r["Properties"]
    }
    sweeps = default_synth.sweep_functions()
    assert len(schedules) == len(sweeps)
    targeted = {}
    for rule in schedules.values():
        props = rule["Properties"]
        assert props["ScheduleExpression"] == "rate(5 minutes)"
        assert props["State"] == "ENABLED"
        (target,) = props["Targets"]
        assert target["DeadLetterConfig"] == {"Arn": arn(queue_id)}
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 300, "MaximumRetryAttempts": 2}
        targeted[target["Arn"]["Fn::GetAtt"][0]] = json.loads(target["Input"])
    assert targeted == {
        function_id: {"service": service} for service, (function_id, _) in sweeps.items()
    }
    # Each function lets only its own schedule (and no other source) invoke it.
    for service, (function_id, _) in sweeps.items():
        permissions = [
            p["Properties"]
            for p in default_synth.of_type("AWS::Lambda::Permission").values()
            if p["Properties"]["FunctionName"] == arn(function_id)
        ]
        assert len(permissions) == 1, service
        assert permissions[0]["Principal"] == "events.amazonaws.com"
        assert permissions[0]["SourceArn"]["Fn::GetAtt"][0] in schedules


def test_events_function_and_its_rules(default_synth: Synth) -> None:
    queue_id, _ = default_synth.only("AWS::SQS::Queue")
    table_id, _ = default_synth.only("AWS::DynamoDB::Table")
    topic_id, _ = default_synth.alerts_topic()
    function_id, function = default_synth.events_function()
    props = function["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 256
    assert props["Timeout"] == 30
    assert "TracingConfig" not in props
    assert props["Layers"] == [{"Fn::Sub": POWERTOOLS_LAYER}]
    assert props["DeadLetterConfig"] == {"TargetArn": arn(queue_id)}
    variables = dict(props["Environment"]["Variables"])
    assert "Fn::Join" in variables.pop("JOBWARDEN_SWEEP_FUNCTIONS")  # test_iam reads it
    assert variables == {
        "JOBWARDEN_TABLE": ref(table_id),
        "JOBWARDEN_TOPIC_ARN": ref(topic_id),
        "JOBWARDEN_POLICY_PATH": "/jobwarden/policies/",
        "JOBWARDEN_SETTINGS_PARAMETER": "/jobwarden/settings",
        "JOBWARDEN_DEADLINE_ROLE_ARN": arn(default_synth.scheduler_role()),
        "JOBWARDEN_DEADLINE_GROUP": "jobwarden-deadlines",
        "POWERTOOLS_SERVICE_NAME": "jobwarden",
        "POWERTOOLS_METRICS_NAMESPACE": "JobWarden",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    rules = [
        r["Properties"]
        for r in default_synth.of_type("AWS::Events::Rule").values()
        if "EventPattern" in r["Properties"]
    ]
    for rule in rules:
        assert rule["State"] == "ENABLED"
        (target,) = rule["Targets"]
        assert target["Arn"] == arn(function_id)
        assert target["DeadLetterConfig"] == {"Arn": arn(queue_id)}
        assert target["RetryPolicy"] == {
            "MaximumEventAgeInSeconds": 3600,
            "MaximumRetryAttempts": 3,
        }
        assert "Input" not in target  # the function reads the event itself
    # EventBridge may invoke the function for these rules and nothing else.
    permissions = [
        p["Properties"]
        for p in default_synth.of_type("AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == arn(function_id)
    ]
    assert len(permissions) == len(rules)
    for permission in permissions:
        assert permission["Principal"] == "events.amazonaws.com"
        assert permission["Action"] == "lambda:InvokeFunction"


def test_events_rules_come_from_the_registered_adapters(
    default_synth: Synth, custom_synth: Synth
) -> None:
    """Walk the registry: every declared (source, detail-type) pair is subscribed, once, and
    nothing else is; one rule per source."""
    declared: dict[str, set[str]] = {}
    for adapter in REGISTRY.values():
        for source, detail_type in adapter.events:
            declared.setdefault(source, set()).add(detail_type)
    for synth in (default_synth, custom_synth):
        patterns = [
            r["Properties"]["EventPattern"]
            for r in synth.of_type("AWS::Events::Rule").values()
            if "EventPattern" in r["Properties"]
        ]
        # A `detail` filter only where the adapter declares one (Batch: see its own test).
        assert all(
            set(p)
            == {"source", "detail-type"} | ({"detail"} if p["source"] == ["aws.batch"] else set())
            for p in patterns
        ), patterns
        sources = [source for p in patterns for source in p["source"]]
        assert sorted(sources) == sorted(declared)  # one rule per source
        for pattern in patterns:
            (source,) = pattern["source"]
            assert len(pattern["detail-type"]) == len(set(pattern["detail-type"]))
            assert set(pattern["detail-type"]) == declared[source]
            assert tuple(pattern["detail-type"]) == subscriptions(REGISTRY)[source]


def test_events_rules_subscribe_these_detail_types(default_synth: Synth) -> None:
    """The rules, written out by hand: one per source, exactly these detail types."""
    patterns = sorted(
        (
            r["Properties"]["EventPattern"]
            for r in default_synth.of_type("AWS::Events::Rule").values()
            if "EventPattern" in r["Properties"]
        ),
        key=lambda p: json.dumps(p["source"]),
    )
    assert [{"source": p["source"], "detail-type": sorted(p["detail-type"])} for p in patterns] == [
        {"source": ["aws.amplify"], "detail-type": ["Amplify Deployment Status Change"]},
        {"source": ["aws.batch"], "detail-type": ["Batch Job State Change"]},
        {"source": ["aws.codebuild"], "detail-type": ["CodeBuild Build State Change"]},
        {"source": ["aws.glue"], "detail-type": ["Glue Job Run Status", "Glue Job State Change"]},
    ]
    assert all(
        set(p)
        == {"source", "detail-type"} | ({"detail"} if p["source"] == ["aws.batch"] else set())
        for p in patterns
    ), patterns


def fake_adapter(name: str, *events: tuple[str, str]) -> type[ServiceAdapter]:
    return cast(type[ServiceAdapter], type(name, (), {"name": name, "events": events}))


# What the five adapters declare (services/*.py); the registry holds fewer today.
FIVE_SERVICES = {
    "codebuild": fake_adapter("codebuild", ("aws.codebuild", "CodeBuild Build State Change")),
    "codebuild-batch": fake_adapter(
        "codebuild-batch", ("aws.codebuild", "CodeBuild Build State Change")
    ),
    "glue": fake_adapter(
        "glue", ("aws.glue", "Glue Job State Change"), ("aws.glue", "Glue Job Run Status")
    ),
    "batch": fake_adapter("batch", ("aws.batch", "Batch Job State Change")),
    "amplify": fake_adapter("amplify", ("aws.amplify", "Amplify Deployment Status Change")),
    "quiet": fake_adapter("quiet"),  # declares no events: its sweeps list it in full
}


def test_subscriptions_merge_per_source_in_a_stable_order() -> None:
    expected = {
        "aws.amplify": ("Amplify Deployment Status Change",),
        "aws.batch": ("Batch Job State Change",),
        "aws.codebuild": ("CodeBuild Build State Change",),
        "aws.glue": ("Glue Job State Change", "Glue Job Run Status"),
    }
    assert subscriptions(FIVE_SERVICES, FIVE_SERVICES) == expected
    assert subscriptions(reversed(list(FIVE_SERVICES)), FIVE_SERVICES) == expected
    assert list(subscriptions(FIVE_SERVICES, FIVE_SERVICES)) == sorted(expected)
    assert subscriptions(["quiet"], FIVE_SERVICES) == {}
    assert subscriptions(["glue", "quiet"], FIVE_SERVICES) == {
        "aws.glue": ("Glue Job State Change", "Glue Job Run Status")
    }


@pytest.mark.parametrize(
    ("adapters", "message"),
    [
        ({}, "no adapter is registered for service 'glue'"),
        ({"glue": fake_adapter("glue", ("aws.glue", ""))}, "glue: malformed event"),
        ({"glue": fake_adapter("glue", ("", "Glue Job Run Status"))}, "glue: malformed event"),
    ],
)
def test_subscriptions_refuse_what_no_rule_can_match(
    adapters: dict[str, type[ServiceAdapter]], message: str
) -> None:
    with pytest.raises(SubscriptionError, match=message):
        subscriptions(["glue"], adapters)


def test_deadline_schedule_group(default_synth: Synth) -> None:
    _, group = default_synth.only("AWS::Scheduler::ScheduleGroup")
    # Schedules delete themselves once they fire and point at this stack's functions.
    assert group["DeletionPolicy"] == "Delete"
    assert group["Properties"] == {
        "Name": "jobwarden-deadlines",
        "Tags": [{"Key": "project", "Value": "jobwarden"}],
    }
    # The stack creates no schedules itself: the functions do, one per watched job.
    assert default_synth.of_type("AWS::Scheduler::Schedule") == {}
    assert default_synth.template["Outputs"]["DeadlineScheduleGroup"] == {
        "Value": "jobwarden-deadlines"
    }


def test_settings_parameter(default_synth: Synth) -> None:
    parameters = {
        r["Properties"]["Name"]: r["Properties"]
        for r in default_synth.of_type("AWS::SSM::Parameter").values()
    }
    settings = parameters.pop("/jobwarden/settings")
    assert settings["Type"] == "String"
    assert settings["Tier"] == "Standard"
    document = json.loads(settings["Value"])
    assert document == {
        "mode": "dry_run",
        "exempt_tag": "jobwarden:exempt",
        "max_stops_per_window": 10,
        "stop_window_minutes": 60,
        "kill_switch": False,
        "regions": [],
        "prices": {},
        "ledger_retention_days": 90,
        "reconcile_every_minutes": 30,
    }
    parsed = parse_settings(settings["Value"])
    assert parsed.mode is Mode.DRY_RUN
    assert parsed.reconcile_every_minutes == 30


def test_one_example_policy_per_service_that_only_notifies(default_synth: Synth) -> None:
    parameters = {
        r["Properties"]["Name"]: r["Properties"]
        for r in default_synth.of_type("AWS::SSM::Parameter").values()
        if r["Properties"]["Name"].startswith("/jobwarden/policies/")
    }
    assert sorted(parameters) == [f"/jobwarden/policies/example-{s}" for s in sorted(REGISTRY)]
    for name, parameter in parameters.items():
        service = name.removeprefix("/jobwarden/policies/example-")
        assert parameter["Type"] == "String"
        assert json.loads(parameter["Value"]) == example_policy_document(service)
        policy = parse_policy(name, parameter["Value"], REGISTRY)
        assert policy.action is Action.NOTIFY
        assert policy.services == (service,)


def alarms_of(synth: Synth) -> list[dict[str, Any]]:
    topic_id, _ = synth.alarms_topic()
    alarms = [r["Properties"] for r in synth.of_type("AWS::CloudWatch::Alarm").values()]
    for alarm in alarms:
        assert alarm["AlarmActions"] == [ref(topic_id)]
        assert alarm["OKActions"] == [ref(topic_id)]
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm["TreatMissingData"] == "notBreaching"
    return alarms


def watched(alarm: dict[str, Any]) -> tuple[str, str, str]:
    if "Metrics" in alarm:  # metric math: the sum of every function's Lambda Errors
        (total,) = [m for m in alarm["Metrics"] if m["ReturnData"]]
        assert total["Expression"] == "SUM(METRICS())"
        metrics = [m["MetricStat"] for m in alarm["Metrics"] if not m["ReturnData"]]
        assert {m["Period"] for m in metrics} == {300}
        assert {m["Stat"] for m in metrics} == {"Sum"}
        return (
            "math",
            "+".join(sorted({m["Metric"]["MetricName"] for m in metrics})),
            json.dumps(
                sorted(d["Value"]["Ref"] for m in metrics for d in m["Metric"]["Dimensions"])
            ),
        )
    dimensions = {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}
    return alarm["Namespace"], alarm["MetricName"], json.dumps(dimensions, sort_keys=True)


def test_alarms_one_metric_each_notify_the_alarms_topic(default_synth: Synth) -> None:
    queue_id, _ = default_synth.only("AWS::SQS::Queue")
    alarms = alarms_of(default_synth)
    # One series each, no dimension: the handlers publish them so (jobwarden.handlers.metrics).
    expected = {
        ("JobWarden", name, "{}")
        for name in ("FunctionErrors", "StopFailures", "AlertsUndelivered", "StaleLeases")
    }
    if any(adapter.events for adapter in REGISTRY.values()):
        expected.add(("JobWarden", "EventsMalformed", "{}"))
    expected.add(
        (
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            json.dumps({"QueueName": {"Fn::GetAtt": [queue_id, "QueueName"]}}),
        )
    )
    assert {watched(alarm) for alarm in alarms} == expected
    assert len(alarms) == len(expected) == 6
    assert all("Metrics" not in alarm for alarm in alarms)  # one alarm metric each


def test_lambda_error_alarm_sums_every_functions_errors_when_asked(custom_synth: Synth) -> None:
    alarms = alarms_of(custom_synth)
    functions = [function_id for function_id, _ in custom_synth.sweep_functions().values()]
    functions.append(custom_synth.events_function()[0])
    math = [watched(alarm) for alarm in alarms if "Metrics" in alarm]
    assert math == [("math", "Errors", json.dumps(sorted(functions)))]
    assert len(alarms) == 7


def test_no_dashboard_by_default_and_no_dashboard_metrics_sent(default_synth: Synth) -> None:
    assert default_synth.of_type("AWS::CloudWatch::Dashboard") == {}
    for function in default_synth.of_type("AWS::Lambda::Function").values():
        assert "JOBWARDEN_DASHBOARD" not in function["Properties"]["Environment"]["Variables"]


def test_the_dashboard_context_adds_it_and_its_metrics(custom_synth: Synth) -> None:
    custom_synth.only("AWS::CloudWatch::Dashboard")
    for function in custom_synth.of_type("AWS::Lambda::Function").values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables["JOBWARDEN_DASHBOARD"] == "true"


def test_dashboard_shows_decisions_and_stops_per_service(custom_synth: Synth) -> None:
    _, dashboard = custom_synth.only("AWS::CloudWatch::Dashboard")
    assert dashboard["Properties"]["DashboardName"] == ref("AWS::StackName")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for service in REGISTRY:
        for metric in ("JobsSeen", "JobsNotified", "JobsStopped", "SweepErrors"):
            assert f'\\"JobWarden\\",\\"{metric}\\",\\"service\\",\\"{service}\\"' in body
    for metric in ("StopFailures", "StaleLeases", "AlertsUndelivered", "EventsMalformed"):
        assert f'\\"JobWarden\\",\\"{metric}\\",{{' in body  # the alarmed totals
    for title in ("Decisions: jobs seen and notified", "Jobs stopped"):
        assert title in body


def test_dashboard_shows_how_well_the_events_keep_the_index(custom_synth: Synth) -> None:
    _, dashboard = custom_synth.only("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])

    def shown(metric: str, service: str) -> bool:
        return f'\\"JobWarden\\",\\"{metric}\\",\\"service\\",\\"{service}\\"' in body

    for service, adapter in REGISTRY.items():
        assert shown("MissedEvents", service)
        for metric in ("EventsApplied", "EventsIgnored"):
            assert shown(metric, service) is bool(adapter.events), (metric, service)
    assert shown("EventsIgnored", "unknown")  # events no adapter reads
    assert "State-change events: applied, ignored, malformed" in body
    assert "Missed events: active jobs only a full listing found" in body


def test_outputs(default_synth: Synth) -> None:
    assert set(default_synth.template["Outputs"]) == {
        "LedgerTableName",
        "AlertsTopicArn",
        "AlarmsTopicArn",
        "DeadLetterQueueUrl",
        "DeadlineScheduleGroup",
    }


def test_asset_is_the_package_without_the_local_emulator(default_synth: Synth) -> None:
    (asset,) = [p for p in default_synth.outdir.iterdir() if p.name.startswith("asset.")]
    files = {str(p.relative_to(asset)) for p in asset.rglob("*") if p.is_file()}
    assert "jobwarden/handlers/sweep.py" in files
    assert "jobwarden/handlers/events.py" in files
    assert "jobwarden/services/codebuild.py" in files
    assert not [f for f in files if f.startswith("jobwarden/local")]
    assert not [f for f in files if ".egg-info" in f]
    assert all(f.startswith("jobwarden/") for f in files), files
    # Bytecode when a Python of the runtime's version is at hand (tests/infra/test_package.py),
    # and only the runtime's.
    compiled = [f for f in files if f.endswith(".pyc")]
    assert bool(compiled) == (package.compiler_for(RUNTIME.name) is not None)
    major, minor = package.runtime_version(RUNTIME.name)
    assert all(f".cpython-{major}{minor}." in f for f in compiled)


def test_stack_is_environment_agnostic_and_looks_nothing_up(default_synth: Synth) -> None:
    manifest = json.loads((default_synth.outdir / "manifest.json").read_text())
    assert "missing" not in manifest  # no context lookups (they would need credentials)
    stack = manifest["artifacts"]["JobWarden"]
    assert stack["environment"] == "aws://unknown-account/unknown-region"
    assert Path(default_synth.outdir / "JobWarden.template.json").exists()


def test_every_resource_is_tagged_with_the_project(default_synth: Synth) -> None:
    template = default_synth.assertions
    for resource_type in (
        "AWS::DynamoDB::Table",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
        "AWS::Lambda::Function",
        "AWS::IAM::Role",
        "AWS::Scheduler::ScheduleGroup",
        "AWS::Events::Rule",
    ):
        template.all_resources_properties(
            resource_type,
            {"Tags": Match.array_with([{"Key": "project", "Value": "jobwarden"}])},
        )


def test_tracing_is_off_by_default_and_on_with_the_context(
    default_synth: Synth, custom_synth: Synth
) -> None:
    """`tracing=true` is Lambda's own tracing: the functions still leave Powertools' Tracer
    (and so the X-Ray SDK) out."""
    assert custom_synth.stack.config.tracing is TraceLevel.INVOCATIONS
    for synth, traced in ((default_synth, False), (custom_synth, True)):
        for function in synth.of_type("AWS::Lambda::Function").values():
            props = function["Properties"]
            assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
            if traced:
                assert props["TracingConfig"] == {"Mode": "Active"}
            else:
                assert "TracingConfig" not in props


@pytest.mark.parametrize(
    ("level", "mode", "tracer_disabled"),
    [
        (TraceLevel.OFF, None, "true"),
        (TraceLevel.INVOCATIONS, "Active", "true"),
        (TraceLevel.CALLS, "Active", None),
    ],
)
def test_each_trace_level_sets_lambda_tracing_and_powertools_tracer(
    level: TraceLevel, mode: str | None, tracer_disabled: str | None
) -> None:
    """Only `calls` lets Powertools' Tracer record a subsegment per AWS call."""
    stack = Stack(App(), "Traced")
    assets = LambdaAssets(stack, "Assets", tracing=level)
    JobWardenFunction(
        stack,
        "Sweep",
        assets=assets,
        handler="jobwarden.handlers.sweep.handler",
        description="test",
        memory_size=256,
        timeout=Duration.seconds(60),
        dead_letter_queue=sqs.Queue(stack, "Dlq"),
    )
    (function,) = Template.from_stack(stack).find_resources("AWS::Lambda::Function").values()
    props = function["Properties"]
    assert props.get("TracingConfig") == (mode and {"Mode": mode})
    assert props["Environment"]["Variables"].get("POWERTOOLS_TRACE_DISABLED") == tracer_disabled


def test_the_batch_rule_lets_through_only_what_the_events_function_acts_on(
    default_synth: Synth,
) -> None:
    """Array children and the SUBMITTED and STARTING steps are filtered in the rule."""
    patterns = {
        rule["Properties"]["EventPattern"]["source"][0]: rule["Properties"]["EventPattern"]
        for rule in default_synth.of_type("AWS::Events::Rule").values()
        if "EventPattern" in rule["Properties"]
    }
    assert patterns["aws.batch"]["detail"] == {
        "status": ["PENDING", "RUNNABLE", "RUNNING", "SUCCEEDED", "FAILED"],
        "arrayProperties": {"index": [{"exists": False}]},
    }
    for source in ("aws.codebuild", "aws.glue", "aws.amplify"):
        assert "detail" not in patterns[source]  # every event of theirs is acted on


def test_dashboard_shows_the_money_saved_per_service_and_day(custom_synth: Synth) -> None:
    _, dashboard = custom_synth.only("AWS::CloudWatch::Dashboard")
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for service in REGISTRY:
        for metric in ("CostAvoidedUSD", "CostAvoidableUSD"):
            assert f'\\"JobWarden\\",\\"{metric}\\",\\"service\\",\\"{service}\\"' in body
    assert "Cost avoided by stops (USD per day)" in body
    assert "Cost dry run would have avoided (USD per day)" in body
    assert '\\"period\\":86400' in body
    assert '\\"stacked\\":true' in body
