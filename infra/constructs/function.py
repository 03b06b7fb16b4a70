"""What every jobwarden function shares: the code asset, the Powertools layer, and a function
construct with its own role, log group and dead-letter queue.

Each function gets a role of its own that starts empty: no AWS managed policy, only the
statements its construct adds (logs on its own log group, X-Ray, its dead-letter queue, and
whatever the caller grants). Nothing needs Docker: the package is plain Python, staged by
`infra.package` in this process (with its bytecode when this is the runtime's Python), boto3
comes with the Lambda runtime and Powertools from AWS's public layer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    AssetHashType,
    BundlingOptions,
    DockerImage,
    Duration,
    Fn,
    ILocalBundling,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import package

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64

# Powertools for AWS Lambda (Python) v3, AWS's public layer for python3.12 on arm64, published
# by account 017000801446 in every commercial region. Layer version 27 carries Powertools
# 3.23.0 (powertools-lambda-python issue #7689); requirements.txt pins 3.37.0 for tests and
# the CLI, and that code uses nothing newer than the layer's release. To move the layer on,
# read `/aws/service/powertools/python/arm64/python3.12/<version>` (a public SSM parameter)
# and put its layer version here.
POWERTOOLS_LAYER_VERSION = 27
POWERTOOLS_LAYER_ARN = (
    "arn:${AWS::Partition}:lambda:${AWS::Region}:017000801446:layer:"
    f"AWSLambdaPowertoolsPythonV3-python312-arm64:{POWERTOOLS_LAYER_VERSION}"
)

METRICS_NAMESPACE = "JobWarden"
POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "jobwarden",
    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
}


class TraceLevel(Enum):
    """What X-Ray records (context `tracing`), each level adding to the one before.

    INVOCATIONS is Lambda's active tracing: Lambda itself emits the service and function
    segments of each invocation (initialization, invocation, overhead, errors) with no SDK in
    the function (docs.aws.amazon.com/lambda/latest/dg/services-xray.html). CALLS adds a
    subsegment per AWS call, which needs the X-Ray SDK in the function (Powertools' Tracer):
    0.11-0.14x of `import boto3` more on every cold start (bench/import_cost.py), and the SDK is
    in maintenance since 2026-02-25, end of support 2027-02-25
    (docs.aws.amazon.com/xray/latest/devguide/xray-daemon-eos.html).
    """

    OFF = "false"
    INVOCATIONS = "true"
    CALLS = "calls"

    @property
    def active(self) -> bool:
        """Lambda's active tracing is on, and with it X-Ray's write permissions."""
        return self is not TraceLevel.OFF


# Unless X-Ray records each call, Powertools' Tracer is left out of the handlers entirely
# (`jobwarden.handlers.tracing`): the X-Ray SDK is never imported.
NO_TRACER_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true"}

DASHBOARD_ENVIRONMENT = {"JOBWARDEN_DASHBOARD": "true"}

LOG_RETENTION = logs.RetentionDays.ONE_MONTH  # the ledger, not the logs, is the audit trail

XRAY_REASON = (
    "X-Ray's PutTraceSegments and PutTelemetryRecords have no resource-level permissions; "
    "CDK adds them for Tracing.ACTIVE."
)
RUNTIME_REASON = (
    "Pinned to python3.12 to match the public Powertools layer it loads "
    "(AWSLambdaPowertoolsPythonV3-python312-arm64); the runtime and layer move together."
)


def nag_form(template: str) -> str:
    """How cdk-nag prints an Fn::Sub string in a finding id: `${X}` becomes `<X>`."""
    return template.replace("${", "<").replace("}", ">")


def acknowledge(scope: Construct, reasons: Mapping[str, list[str]]) -> None:
    """Acknowledge cdk-nag findings on `scope` (and so on everything below it), one reason each.

    `reasons` maps a finding id, such as `AwsSolutions-IAM5[Resource::*]`, to the sentences
    that justify it; several statements can share one finding id.
    """
    Validations.of(scope).acknowledge(
        *(
            Acknowledgment(id=finding, reason=" ".join(dict.fromkeys(texts)))
            for finding, texts in sorted(reasons.items())
        )
    )


@jsii.implements(ILocalBundling)
class StagedPackage:
    """Bundles the asset in this process (`infra.package.stage`): no Docker, ever."""

    def try_bundle(self, output_dir: str, *_options: Any, **_named: Any) -> bool:
        package.stage(Path(output_dir), compiler=package.compiler_for(RUNTIME.name))
        return True


def package_asset() -> lambda_.AssetCode:
    """The deployed package. Its hash is of the sources (without what is excluded), so the
    template is the same whichever Python synthesizes it, with bytecode or without."""
    return lambda_.Code.from_asset(
        str(package.LAMBDAS_DIR),
        exclude=package.ASSET_EXCLUDES,
        asset_hash_type=AssetHashType.SOURCE,
        bundling=BundlingOptions(
            # Never pulled or run: the local bundler always succeeds.
            image=DockerImage.from_registry("unused-local-bundling-only"),
            local=StagedPackage(),
        ),
    )


class LambdaAssets(Construct):
    """The code asset and the Powertools layer, made once per stack and shared."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        tracing: TraceLevel = TraceLevel.OFF,
        dashboard: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        # X-Ray for every function (context `tracing`): off by default, since at one trace
        # per event it is one of the largest lines of the bill (bench/cost.py).
        self.tracing = tracing
        # The dashboard's per-service metrics are sent only when it exists (context
        # `dashboard`; `jobwarden.handlers.metrics`).
        self.dashboard = dashboard
        self.code = package_asset()
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", Fn.sub(POWERTOOLS_LAYER_ARN)
        )


class JobWardenFunction(Construct):
    """A Python 3.12 arm64 function (traced if the assets say so), its own log group, role
    and a DLQ.

    `nag_reasons` collects the cdk-nag acknowledgements for this function's resources; the
    caller adds to it and calls `acknowledge_findings()` once its statements are in place.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        assets: LambdaAssets,
        handler: str,
        description: str,
        memory_size: int,
        timeout: Duration,
        dead_letter_queue: sqs.IQueue,
        environment: Mapping[str, str] | None = None,
        reserved_concurrent_executions: int | None = None,
        retry_attempts: int = 2,
        max_event_age: Duration | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"jobwarden: {description}",
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"jobwarden: {description}",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=assets.code,
            layers=[assets.powertools],
            role=self.role,
            memory_size=memory_size,
            timeout=timeout,
            environment={
                **POWERTOOLS_ENVIRONMENT,
                **({} if assets.tracing is TraceLevel.CALLS else NO_TRACER_ENVIRONMENT),
                **(DASHBOARD_ENVIRONMENT if assets.dashboard else {}),
                **(environment or {}),
            },
            log_group=self.log_group,
            tracing=lambda_.Tracing.ACTIVE if assets.tracing.active else lambda_.Tracing.DISABLED,
            dead_letter_queue=dead_letter_queue,
            reserved_concurrent_executions=reserved_concurrent_executions,
            retry_attempts=retry_attempts,
            max_event_age=max_event_age,
        )
        # Lambda writes to the log group made above and to nothing else: no CreateLogGroup.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.nag_reasons: defaultdict[str, list[str]] = defaultdict(list)
        if assets.tracing.active:
            self.nag_reasons["AwsSolutions-IAM5[Resource::*]"].append(XRAY_REASON)
        acknowledge(self.function, {"AwsSolutions-L1": [RUNTIME_REASON]})

    def acknowledge_findings(self) -> None:
        """Acknowledge the collected findings on the role and its default policy only."""
        acknowledge(self.role, self.nag_reasons)
