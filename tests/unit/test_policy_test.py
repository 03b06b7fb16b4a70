"""`jobwarden policy test`: test cases carried in policy documents, run with a fixed clock."""

from __future__ import annotations

import json

import pytest
from jobwarden.cli import main
from jobwarden.policies import InvalidDocument, parse_policy, policy_cases
from jobwarden.services import REGISTRY

NIGHTLY = {
    "match": {"services": ["codebuild"], "names": ["nightly-*"]},
    "limits": {"max_run_minutes": 60, "max_queue_minutes": 30},
    "priority": 10,
    "tests": [
        {
            "name": "a hung nightly build is stopped",
            "job": {"service": "codebuild", "name": "nightly-etl", "run_minutes": 95},
            "expect": "stop",
            "expect_policy": "nightly",
        },
        {
            "name": "a nightly build within the hour runs on",
            "job": {"service": "codebuild", "name": "nightly-etl", "run_minutes": 0},
            "expect": "ok",
        },
        {
            "name": "stuck in the queue",
            "job": {"service": "codebuild", "name": "nightly-etl", "queued_minutes": 45},
            "expect": "stop",
        },
        {
            "name": "the exemption tag wins",
            "job": {
                "service": "codebuild",
                "name": "nightly-etl",
                "run_minutes": 95,
                "tags": {"jobwarden:exempt": "true"},
            },
            "expect": "exempt",
        },
    ],
}
COST = {
    "match": {"services": ["glue"]},
    "limits": {"max_cost_usd": 5},
    "action": "notify",
    "tests": [
        {
            "name": "20 DPU for 40 minutes is $5.87",
            "job": {
                "service": "glue",
                "name": "agg",
                "run_minutes": 40,
                "cost_basis": {"glue:dpu": 20},
            },
            "expect": "notify",
        },
        {
            "name": "a nightly codebuild job is the nightly policy's",
            "job": {"service": "codebuild", "name": "nightly-etl", "run_minutes": 61},
            "expect": "stop",
            "expect_policy": "nightly",
        },
    ],
}


def write(tmp_path, name, document):
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_passing_cases_exit_0(tmp_path, capsys):
    code = main(
        ["policy", "test", write(tmp_path, "nightly", NIGHTLY), write(tmp_path, "cost", COST)]
    )
    out = capsys.readouterr().out.splitlines()

    assert code == 0
    assert out[-1] == "6 passed, 0 failed"
    assert any(
        line.startswith("ok    ") and "a hung nightly build is stopped: stop" in line
        for line in out
    )


def test_a_mismatch_exits_1_and_says_what_it_got(tmp_path, capsys):
    wrong = json.loads(json.dumps(NIGHTLY))
    wrong["tests"][1]["expect"] = "stop"
    code = main(["policy", "test", write(tmp_path, "nightly", wrong)])
    out = capsys.readouterr().out

    assert code == 1
    assert "FAIL  " in out
    assert "a nightly build within the hour runs on: expected stop, got ok (policy nightly)" in out
    assert out.splitlines()[-1] == "3 passed, 1 failed"


def test_documents_without_cases_are_an_error(tmp_path, capsys):
    plain = {k: v for k, v in NIGHTLY.items() if k != "tests"}
    assert main(["policy", "test", write(tmp_path, "plain", plain)]) == 1
    assert "no test cases" in capsys.readouterr().err


def test_the_sweeps_ignore_the_cases():
    plain = {k: v for k, v in NIGHTLY.items() if k != "tests"}
    assert parse_policy("nightly", NIGHTLY, REGISTRY) == parse_policy("nightly", plain, REGISTRY)


@pytest.mark.parametrize(
    ("tests", "message"),
    [
        ([], "tests: must be a non-empty list of test cases"),
        (
            [{"job": {"service": "ec2", "name": "x"}, "expect": "stop"}],
            "tests[0].job.service: must be one of",
        ),
        (
            [{"job": {"service": "glue", "name": "x"}, "expect": "kill"}],
            "tests[0].expect: must be one of ok, exempt",
        ),
        (
            [{"job": {"service": "glue", "name": "x", "run_minutes": -1}, "expect": "ok"}],
            "tests[0].job.run_minutes: must be greater than 0",
        ),
        (
            [{"job": {"service": "glue", "name": "x", "cost_basis": {"ec2:x": 1}}, "expect": "ok"}],
            "tests[0].job.cost_basis.ec2:x: unknown price key",
        ),
        ([{"job": {"service": "glue"}, "expect": "ok", "when": 1}], "tests[0].when: unknown field"),
    ],
)
def test_bad_cases_are_refused_field_by_field(tests, message):
    document = {**NIGHTLY, "tests": tests}
    with pytest.raises(InvalidDocument) as raised:
        parse_policy("nightly", document, REGISTRY)
    assert any(m.startswith(message) for m in raised.value.messages), raised.value.messages
    with pytest.raises(InvalidDocument):
        policy_cases("nightly", document, REGISTRY)
