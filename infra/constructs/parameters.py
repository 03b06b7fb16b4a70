"""The settings document and one example policy per deployed service, in SSM Parameter Store.

Both are JSON documents in the shapes `jobwarden.policies` validates. The examples only
notify; operators add their own policies as further parameters under the same path. These
parameters are owned by the stack: a deploy puts them back as written here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Fn
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct
from jobwarden.model import DEFAULT_EXEMPT_TAG, Mode
from jobwarden.policies import DEFAULT_POLICY_PATH, DEFAULT_SETTINGS_PARAMETER

from infra.constructs.function import nag_form

POLICY_PATH = DEFAULT_POLICY_PATH
SETTINGS_PARAMETER = DEFAULT_SETTINGS_PARAMETER
MAX_STOPS_PER_WINDOW = 10
STOP_WINDOW_MINUTES = 60


def settings_document(
    mode: Mode, regions: Sequence[str], retention_days: int, reconcile_every_minutes: int
) -> dict[str, Any]:
    return {
        "mode": str(mode),
        "exempt_tag": DEFAULT_EXEMPT_TAG,
        "max_stops_per_window": MAX_STOPS_PER_WINDOW,
        "stop_window_minutes": STOP_WINDOW_MINUTES,
        "kill_switch": False,
        "regions": list(regions),
        "prices": {},
        "ledger_retention_days": retention_days,
        "reconcile_every_minutes": reconcile_every_minutes,
    }


def example_policy_name(service: str) -> str:
    return f"example-{service}"


def example_policy_document(service: str) -> dict[str, Any]:
    return {
        "description": (
            f"Example: tell the alerts topic about any {service} job running over 2 hours, "
            "queued over 1 hour or estimated over 20 USD. Notifies only."
        ),
        "match": {"services": [service], "names": ["*"], "tags": {}},
        "limits": {"max_run_minutes": 120, "max_queue_minutes": 60, "max_cost_usd": 20},
        "action": "notify",
        "priority": 100,
    }


def parameter_arn(name_pattern: str) -> tuple[str, str]:
    """The ARN of a parameter name (or name pattern), as a token and as cdk-nag prints it."""
    template = (
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/"
        + name_pattern.lstrip("/")
    )
    return Fn.sub(template), nag_form(template)


class JobWardenParameters(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        services: Sequence[str],
        mode: Mode,
        regions: Sequence[str],
        retention_days: int,
        reconcile_every_minutes: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = ssm.StringParameter(
            self,
            "Settings",
            parameter_name=SETTINGS_PARAMETER,
            description="jobwarden settings: mode, exemption tag, stop cap, kill switch, regions",
            string_value=_json(
                settings_document(mode, regions, retention_days, reconcile_every_minutes)
            ),
            tier=ssm.ParameterTier.STANDARD,
        )
        self.policies = {
            service: ssm.StringParameter(
                self,
                f"Example-{service}",
                parameter_name=POLICY_PATH + example_policy_name(service),
                description=f"jobwarden example policy for {service} (notify only)",
                string_value=_json(example_policy_document(service)),
                tier=ssm.ParameterTier.STANDARD,
            )
            for service in services
        }
        # GetParametersByPath is authorised on the path itself; `/*` also matches the path
        # with its trailing slash as Powertools passes it, and every policy beneath it.
        self.settings_arn, _ = parameter_arn(SETTINGS_PARAMETER)
        path = POLICY_PATH.rstrip("/")
        self.policy_path_arn, _ = parameter_arn(path)
        self.policy_tree_arn, self.policy_tree_nag = parameter_arn(path + "/*")

    @property
    def policy_tree_finding(self) -> str:
        return f"AwsSolutions-IAM5[Resource::{self.policy_tree_nag}]"

    @property
    def policy_tree_reason(self) -> str:
        return (
            f"ssm:GetParametersByPath reads the policy documents under {POLICY_PATH} and "
            "nothing outside it."
        )

    def read_statements(self) -> list[iam.PolicyStatement]:
        """What a function that loads the configuration needs: the policies and settings."""
        return [
            iam.PolicyStatement(
                actions=["ssm:GetParametersByPath"],
                resources=[self.policy_path_arn, self.policy_tree_arn],
            ),
            iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[self.settings_arn]),
        ]


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"))
