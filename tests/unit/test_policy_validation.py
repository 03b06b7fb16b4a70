"""Bounded, explicit validation: each example from issue 10 (and retry types from issue 9)."""

from __future__ import annotations

import json
import math

import pytest
from jobwarden.bounds import RETRY_TYPES, SERVICE_LIMITS
from jobwarden.model import Retry
from jobwarden.policies import (
    InvalidDocument,
    build_configuration,
    parse_policy,
    parse_settings,
)
from jobwarden.pricing import RATES
from jobwarden.services import REGISTRY

KNOWN = tuple(sorted(REGISTRY))


def messages_of(document, parse=parse_policy) -> list[str]:
    def read() -> object:
        return parse_policy("p", document, KNOWN) if parse is parse_policy else parse(document)

    with pytest.raises(InvalidDocument) as caught:
        read()
    return caught.value.messages


def with_number(template: str, number: str) -> str:
    return template.replace("N", number)


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_run_limit_is_rejected(text):
    document = with_number('{"limits": {"max_run_minutes": N}}', text)
    (message,) = messages_of(document)
    assert message.startswith("limits.max_run_minutes: must be")
    assert "finite" in message or "greater than 0" in message


def test_json_dumps_of_math_inf_is_rejected():
    document = json.dumps({"limits": {"max_run_minutes": math.inf}})
    assert "Infinity" in document
    assert messages_of(document) == ["limits.max_run_minutes: must be a finite number, got inf"]


@pytest.mark.parametrize("limit", [1e300, 1e10])
def test_absurd_run_limit_is_rejected(limit):
    (message,) = messages_of({"limits": {"max_run_minutes": limit}})
    assert message.startswith("limits.max_run_minutes: must be at most 527040 minutes")


def test_a_run_limit_beyond_the_service_maximum_names_the_service():
    document = {"match": {"services": ["amplify"]}, "limits": {"max_run_minutes": 600}}
    assert messages_of(document) == [
        "limits.max_run_minutes: must be at most 120 minutes (the longest amplify job can run), "
        "got 600"
    ]
    codebuild = {"match": {"services": ["codebuild"]}, "limits": {"max_queue_minutes": 481}}
    assert messages_of(codebuild)[0].startswith("limits.max_queue_minutes: must be at most 480")


def test_the_service_maximum_itself_is_accepted():
    for service, limits in SERVICE_LIMITS.items():
        policy = parse_policy(
            "p",
            {
                "match": {"services": [service]},
                "limits": {
                    "max_run_minutes": limits.run_minutes,
                    "max_queue_minutes": limits.queue_minutes,
                },
            },
            KNOWN,
        )
        assert policy.max_run_minutes == limits.run_minutes


def test_a_400_digit_integer_in_a_policy_is_one_message():
    document = with_number('{"limits": {"max_cost_usd": N}, "priority": N}', "9" * 400)
    assert messages_of(document) == [
        "limits.max_cost_usd: must be at most 1e+06 USD, got " + repr(int("9" * 400))[:57] + "...",
        "priority: must be a whole number from 0 to 1000000, got "
        + repr(int("9" * 400))[:57]
        + "...",
    ]


def test_a_400_digit_price_in_the_settings_is_one_message():
    document = with_number('{"prices": {"glue:dpu": N}}', "9" * 400)
    (message,) = messages_of(document, parse_settings)
    assert message.startswith("prices.glue:dpu: must be at most 10000 USD an hour")


def test_a_number_too_long_for_python_to_read_is_a_problem_not_a_crash():
    configuration = build_configuration(
        with_number('{"prices": {"glue:dpu": N}}', "9" * 5000),
        {"long": with_number('{"limits": {"max_run_minutes": N}}', "9" * 5000)},
        KNOWN,
    )
    assert [p.name for p in configuration.problems] == ["/jobwarden/settings", "long"]
    assert configuration.settings.kill_switch is True
    assert "cannot be read" in configuration.problems[1].reason


def test_a_deeply_nested_document_is_a_problem_not_a_crash():
    configuration = build_configuration(None, {"deep": "[" * 100_000}, KNOWN)
    assert configuration.problems[0].name == "deep"


def test_regions_botocore_rejects_are_rejected_with_a_suggestion():
    assert messages_of({"regions": ["us east 2"]}, parse_settings) == [
        "regions: 'us east 2' is not a region botocore knows (did you mean us-east-2?)"
    ]


def test_regions_listed_twice_are_rejected():
    assert messages_of({"regions": ["us-east-1", "us-east-1"]}, parse_settings) == [
        "regions: us-east-1 is listed more than once"
    ]


def test_known_regions_of_every_partition_are_accepted():
    settings = parse_settings({"regions": ["eu-west-1", "us-gov-west-1", "cn-north-1"]})
    assert settings.regions == ("eu-west-1", "us-gov-west-1", "cn-north-1")


def test_empty_regions_mean_the_functions_own_region_as_documented():
    assert parse_settings({"regions": []}).regions == ()


def test_an_invalid_region_turns_the_kill_switch_on():
    configuration = build_configuration(
        json.dumps({"mode": "enforce", "regions": ["us east 2", "us-east-1"]}), {}, KNOWN
    )
    assert configuration.settings.kill_switch is True
    assert configuration.settings.regions == ()  # the defaults: the function's own region
    (problem,) = configuration.problems
    assert "us east 2" in problem.reason


def test_empty_services_is_rejected_and_says_what_to_write():
    (message,) = messages_of({"match": {"services": []}, "limits": {"max_run_minutes": 60}})
    assert message.startswith("match.services: an empty list is ambiguous; omit the field")


def test_empty_names_is_rejected_and_says_what_to_write():
    (message,) = messages_of({"match": {"names": []}, "limits": {"max_run_minutes": 60}})
    assert message == (
        'match.names: an empty list is ambiguous; omit the field (or write ["*"]) to match '
        "every name"
    )


def test_an_empty_tag_value_is_rejected_and_says_to_write_a_star():
    (message,) = messages_of({"match": {"tags": {"team": ""}}, "limits": {"max_run_minutes": 1}})
    assert message == 'match.tags.team: an empty value is ambiguous; write "*" to accept any value'


@pytest.mark.parametrize("document", ["{}", {"match": {"names": ["*"]}}, {"limits": {}}])
def test_a_policy_without_limits_is_rejected(document):
    (message,) = messages_of(document)
    assert message.startswith("limits: set at least one of max_cost_usd, max_queue_minutes")
    assert "exempt_tag" in message


def test_an_empty_document_cannot_shadow_a_real_policy_on_the_name_tie_break():
    real = json.dumps({"match": {"names": ["nightly-*"]}, "limits": {"max_run_minutes": 60}})
    configuration = build_configuration(None, {"a-catch-all": "{}", "nightly": real}, KNOWN)
    assert [p.name for p in configuration.policies] == ["nightly"]
    assert [p.name for p in configuration.problems] == ["a-catch-all"]


def test_a_null_limit_is_rejected_not_read_as_no_limit():
    assert messages_of({"limits": {"max_run_minutes": None}}) == [
        "limits.max_run_minutes: must be a number; omit the field for no limit"
    ]


def test_a_field_given_twice_is_rejected():
    document = '{"limits": {"max_run_minutes": 60, "max_run_minutes": 6000}}'
    assert messages_of(document) == ["limits.max_run_minutes: given more than once; keep one"]


def test_one_message_per_bad_field():
    document = {
        "match": {"services": ["ec2", "ecs"]},
        "limits": {"max_run_minutes": math.nan, "max_cost_usd": 1e300},
        "priority": 1.5,
    }
    assert len(messages_of(document)) == 4


@pytest.mark.parametrize(
    ("service", "kind"),
    [(s, kind) for s, kinds in RETRY_TYPES.items() for kind in kinds],
)
def test_each_retry_type_is_accepted_for_its_service(service, kind):
    document = {
        "match": {"services": [service]},
        "limits": {"max_queue_minutes": 60},
        "retry": {"type": kind, "max_attempts": 2},
    }
    assert parse_policy("p", document, KNOWN).retry == Retry(kind, 2)


@pytest.mark.parametrize(
    ("services", "kind"),
    [
        (["codebuild-batch"], "RETRY"),
        (["amplify"], "RETRY_ALL_BUILDS"),
        (["codebuild"], "RETRY_FAILED_BUILDS"),
        (["codebuild-batch", "amplify"], "RETRY"),
        (["amplify", "glue"], "RETRY"),
    ],
)
def test_a_retry_type_a_service_cannot_take_is_rejected(services, kind):
    document = {
        "match": {"services": services},
        "limits": {"max_run_minutes": 60},
        "retry": {"type": kind},
    }
    (message,) = messages_of(document)
    assert message.startswith(f"retry.type: {kind!r} cannot retry")
    assert "write one policy per service" in message


def test_a_retry_for_every_service_is_rejected_and_says_to_list_them():
    document = {"limits": {"max_run_minutes": 60}, "retry": {"type": "RETRY"}}
    (message,) = messages_of(document)
    assert message.startswith("retry: list the services to retry in match.services")
    assert "amplify: RETRY" in message
    assert "codebuild-batch: RETRY_ALL_BUILDS or RETRY_FAILED_BUILDS" in message


def test_a_retry_without_a_type_is_rejected():
    document = {
        "match": {"services": ["amplify"]},
        "limits": {"max_run_minutes": 60},
        "retry": {"max_attempts": 1},
    }
    assert messages_of(document)[0].startswith("retry.type: None cannot retry amplify jobs")


def test_retry_types_cover_exactly_the_adapters_that_can_retry():
    assert set(RETRY_TYPES) == {name for name, a in REGISTRY.items() if a.supports_retry}


def test_every_built_in_price_key_is_accepted_in_the_settings():
    settings = parse_settings({"prices": dict.fromkeys(RATES, 1.0)})
    assert set(settings.prices) == set(RATES)


def test_unknown_price_keys_are_rejected():
    (message,) = messages_of({"prices": {"ec2:m5.large": 0.1}}, parse_settings)
    assert message.startswith("prices.ec2:m5.large: unknown price key")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_stops_per_sweep", 10**400),
        ("ledger_retention_days", 0),
        ("ledger_retention_days", 100_000),
        ("reconcile_every_minutes", 1441),
        ("exempt_tag", ""),
        ("mode", None),
    ],
)
def test_every_settings_field_is_bounded(field, value):
    (message,) = messages_of({field: value}, parse_settings)
    assert message.startswith(f"{field}: must be")


LIMITED = {"limits": {"max_run_minutes": 60}}


def test_warn_at_and_notify_targets_are_read():
    policy = parse_policy(
        "p",
        {
            **LIMITED,
            "warn_at": 0.8,
            "notify": ["tag:team", "arn:aws:sns:eu-west-1:111122223333:data-team"],
        },
        KNOWN,
    )
    assert policy.warn_at == 0.8
    assert policy.owner_tags == ("team",)
    assert policy.topics == ("arn:aws:sns:eu-west-1:111122223333:data-team",)


@pytest.mark.parametrize(
    ("warn_at", "message"),
    [
        (0, "warn_at: must be between 0 and 1 (a share of each limit, e.g. 0.8), got 0"),
        (1, "warn_at: must be between 0 and 1 (a share of each limit, e.g. 0.8), got 1"),
        (80, "warn_at: must be between 0 and 1 (a share of each limit, e.g. 0.8), got 80"),
        (True, "warn_at: must be a number between 0 and 1, got True"),
        ("0.8", "warn_at: must be a number between 0 and 1, got '0.8'"),
    ],
)
def test_warn_at_is_a_share_strictly_between_0_and_1(warn_at, message):
    assert messages_of({**LIMITED, "warn_at": warn_at}) == [message]


def test_a_notify_only_policy_does_not_warn():
    assert messages_of({**LIMITED, "action": "notify", "warn_at": 0.5}) == [
        "warn_at: only a stop policy warns before its limit; a notify policy's alert is the warning"
    ]


def test_bad_notify_targets_each_get_a_reason():
    (message,) = messages_of(
        {
            **LIMITED,
            "notify": [
                "data-team@example.com",
                "tag:",
                "arn:aws:sns:us-east-1:111122223333:alerts.fifo",
                "tag:team",
                "tag:team",
            ],
        }
    )
    assert message.startswith("notify: ")
    assert "'data-team@example.com' is neither an SNS topic ARN" in message
    assert "'tag:' must name a tag key of 1 to 128 characters" in message
    assert "is a FIFO topic; alerts go to standard topics" in message
    assert "'tag:team' is listed more than once" in message
    assert messages_of({**LIMITED, "notify": []}) == [
        "notify: an empty list is ambiguous; omit the field to alert only the platform topic"
    ]


def test_digest_minutes_is_a_bounded_whole_number():
    assert parse_settings({"digest_minutes": 60}).digest_minutes == 60
    assert messages_of({"digest_minutes": 1441}, parse_settings) == [
        "digest_minutes: must be a whole number from 0 to 1440, got 1441"
    ]
