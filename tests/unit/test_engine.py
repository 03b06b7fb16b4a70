from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jobwarden.engine import decide, hold, next_deadline, select_policy
from jobwarden.model import Action, Mode, Settings, Verdict

from tests.conftest import NOW
from tests.unit.factories import job, policy

ENFORCE = Settings(mode=Mode.ENFORCE)


@pytest.mark.parametrize(
    ("the_job", "policies", "verdict", "reason"),
    [
        pytest.param(
            job(run_minutes=95),
            [policy(max_run_minutes=60)],
            Verdict.STOP,
            "running 95 min, over the 60 min limit of policy nightly-builds",
            id="run-time-over",
        ),
        pytest.param(
            job(run_minutes=59),
            [policy(max_run_minutes=60)],
            Verdict.OK,
            "within the limits of policy nightly-builds",
            id="run-time-under",
        ),
        pytest.param(
            job(queued_minutes=180, run_minutes=None),
            [policy("all-builds", max_queue_minutes=60)],
            Verdict.STOP,
            "queued 180 min, over the 60 min queue limit of policy all-builds",
            id="queue-time-over",
        ),
        pytest.param(
            job(queued_minutes=180, run_minutes=5),
            [policy("all-builds", max_queue_minutes=60)],
            Verdict.OK,
            "within the limits of policy all-builds",
            id="queue-limit-ends-once-running",
        ),
        pytest.param(
            job(run_minutes=120, compute="BUILD_GENERAL1_LARGE"),
            [policy("budget", max_cost_usd=2)],
            Verdict.STOP,
            "estimated cost $2.40, over the $2.00 limit of policy budget",
            id="cost-over",
        ),
        pytest.param(
            job(run_minutes=120, compute="UNKNOWN_TYPE"),
            [policy("budget", max_cost_usd=2)],
            Verdict.OK,
            "within the limits of policy budget",
            id="unknown-price-never-stops",
        ),
        pytest.param(
            job(run_minutes=95),
            [policy(max_run_minutes=60, action=Action.NOTIFY)],
            Verdict.NOTIFY,
            "running 95 min, over the 60 min limit of policy nightly-builds",
            id="notify-only",
        ),
        pytest.param(
            job(run_minutes=95, tags={"jobwarden:exempt": "true"}),
            [policy(max_run_minutes=60)],
            Verdict.EXEMPT,
            "exempt by tag jobwarden:exempt",
            id="exempt-tag",
        ),
        pytest.param(
            job(run_minutes=95, tags={"jobwarden:exempt": "false"}),
            [policy(max_run_minutes=60)],
            Verdict.STOP,
            "running 95 min, over the 60 min limit of policy nightly-builds",
            id="exempt-tag-set-false",
        ),
        pytest.param(
            job(run_minutes=95),
            [policy(names=("web-*",), max_run_minutes=60)],
            Verdict.OK,
            "no policy covers this job",
            id="name-glob-misses",
        ),
        pytest.param(
            job(run_minutes=95),
            [policy(services=("glue",), max_run_minutes=60)],
            Verdict.OK,
            "no policy covers this job",
            id="other-service",
        ),
        pytest.param(
            job(run_minutes=95, tags={"team": "data"}),
            [policy(tags={"team": "web"}, max_run_minutes=60)],
            Verdict.OK,
            "no policy covers this job",
            id="tag-value-misses",
        ),
        pytest.param(
            job(run_minutes=95, tags={"team": "data"}),
            [policy(tags={"team": "*"}, max_run_minutes=60)],
            Verdict.STOP,
            "running 95 min, over the 60 min limit of policy nightly-builds",
            id="tag-wildcard-matches",
        ),
        pytest.param(
            job(run_minutes=95),
            [policy()],
            Verdict.OK,
            "within the limits of policy nightly-builds",
            id="no-limits-no-stop",
        ),
    ],
)
def test_decide(the_job, policies, verdict, reason):
    decision = decide(the_job, policies, ENFORCE, NOW)
    assert decision.verdict is verdict
    assert decision.reason == reason


def test_two_breaches_are_one_sentence():
    decision = decide(
        job(run_minutes=120, compute="BUILD_GENERAL1_LARGE"),
        [policy(max_run_minutes=60, max_cost_usd=1)],
        ENFORCE,
        NOW,
    )
    assert decision.reason == (
        "running 120 min, over the 60 min limit and estimated cost $2.40, "
        "over the $1.00 limit of policy nightly-builds"
    )


def test_lowest_priority_number_wins_then_name():
    the_job = job()
    chosen = select_policy(
        the_job,
        [policy("zeta", priority=5), policy("alpha", priority=5), policy("first", priority=1)],
    )
    assert chosen is not None
    assert chosen.name == "first"
    tie = select_policy(the_job, [policy("zeta", priority=5), policy("alpha", priority=5)])
    assert tie is not None
    assert tie.name == "alpha"


def test_dry_run_stop_does_not_call_stop():
    decision = decide(job(run_minutes=95), [policy(max_run_minutes=60)], Settings(), NOW)
    assert decision.verdict is Verdict.STOP
    assert decision.mode is Mode.DRY_RUN
    assert not decision.calls_stop


def test_kill_switch_holds_the_stop():
    settings = replace(ENFORCE, kill_switch=True)
    decision = decide(job(run_minutes=95), [policy(max_run_minutes=60)], settings, NOW)
    assert decision.verdict is Verdict.HELD
    assert decision.reason.endswith("not stopped: the kill switch is on")
    assert not decision.calls_stop


def test_hold_turns_a_stop_into_a_held_decision_that_says_why():
    decision = decide(job(run_minutes=95), [policy(max_run_minutes=60)], ENFORCE, NOW)
    held = hold(decision, "the stop budget is spent")
    assert held.verdict is Verdict.HELD
    assert held.reason == f"{decision.reason}; not stopped: the stop budget is spent"
    assert not held.calls_stop


def test_price_override_from_settings():
    settings = replace(ENFORCE, prices={"codebuild:LINUX_CONTAINER:BUILD_GENERAL1_SMALL": 60.0})
    decision = decide(job(run_minutes=30), [policy(max_cost_usd=20)], settings, NOW)
    assert decision.cost_usd == pytest.approx(30.0)
    assert decision.verdict is Verdict.STOP


# --- invariants -------------------------------------------------------------------------

minutes = st.floats(min_value=0, max_value=5000, allow_nan=False)
limits = st.one_of(st.none(), st.floats(min_value=0.1, max_value=5000, allow_nan=False))
modes = st.sampled_from(list(Mode))
actions = st.sampled_from(list(Action))


@st.composite
def scenarios(draw):
    queued = draw(minutes)
    running = draw(st.one_of(st.none(), minutes))
    the_job = job(
        queued_minutes=queued, run_minutes=running, tags=draw(st.sampled_from([{}, {"team": "a"}]))
    )
    the_policy = policy(
        max_run_minutes=draw(limits),
        max_queue_minutes=draw(limits),
        max_cost_usd=draw(limits),
        action=draw(actions),
    )
    settings = Settings(mode=draw(modes), kill_switch=draw(st.booleans()))
    return the_job, the_policy, settings


@given(scenarios())
def test_an_exempt_job_is_never_stopped(scenario):
    the_job, the_policy, settings = scenario
    exempt = replace(the_job, tags={**the_job.tags, settings.exempt_tag: "yes"})
    decision = decide(exempt, [the_policy], settings, NOW)
    assert decision.verdict is Verdict.EXEMPT
    assert not decision.calls_stop


@given(scenarios())
def test_no_limit_set_means_no_stop(scenario):
    the_job, the_policy, settings = scenario
    unlimited = replace(the_policy, max_run_minutes=None, max_queue_minutes=None, max_cost_usd=None)
    decision = decide(the_job, [unlimited], settings, NOW)
    assert decision.verdict is Verdict.OK


@given(scenarios())
def test_dry_run_never_calls_stop(scenario):
    the_job, the_policy, settings = scenario
    decision = decide(the_job, [the_policy], replace(settings, mode=Mode.DRY_RUN), NOW)
    assert not decision.calls_stop


@given(scenarios())
def test_stop_only_when_a_stop_policy_limit_is_passed(scenario):
    the_job, the_policy, settings = scenario
    decision = decide(the_job, [the_policy], settings, NOW)
    if decision.calls_stop:
        assert the_policy.action is Action.STOP
        assert not settings.kill_switch
        assert "over the" in decision.reason


@given(scenarios(), st.integers(1, 120))
def test_more_time_never_undoes_a_breach_while_running(scenario, later):
    the_job, the_policy, settings = scenario
    if the_job.started_at is None:
        return
    first = decide(the_job, [the_policy], settings, NOW)
    again = decide(the_job, [the_policy], settings, NOW + timedelta(minutes=later))
    if first.verdict in (Verdict.STOP, Verdict.NOTIFY, Verdict.HELD):
        assert again.verdict is first.verdict


# --- deadlines ----------------------------------------------------------------------------


def test_deadline_of_a_queued_job_is_its_queue_limit():
    queued = job(queued_minutes=10, run_minutes=None)
    deadline = next_deadline(queued, policy(max_queue_minutes=60, max_run_minutes=30), {})
    assert deadline == queued.submitted_at + timedelta(minutes=60)
    assert next_deadline(queued, policy(max_run_minutes=30), {}) is None


def test_deadline_of_a_running_job_is_the_first_limit_it_will_pass():
    running = job(run_minutes=10, compute="BUILD_GENERAL1_LARGE")  # $1.20 an hour
    assert running.started_at is not None
    by_time = next_deadline(running, policy(max_run_minutes=60, max_cost_usd=5), {})
    assert by_time == running.started_at + timedelta(minutes=60)
    by_cost = next_deadline(running, policy(max_run_minutes=600, max_cost_usd=0.6), {})
    assert by_cost == running.started_at + timedelta(minutes=30)
    assert next_deadline(running, policy(max_queue_minutes=5), {}) is None


@given(scenarios())
def test_a_job_is_within_its_limits_before_its_deadline_and_over_after(scenario):
    the_job, the_policy, settings = scenario
    settings = replace(settings, kill_switch=False)
    deadline = next_deadline(the_job, the_policy, {})
    if deadline is None or deadline <= NOW:
        return
    before = decide(the_job, [the_policy], settings, deadline - timedelta(seconds=1))
    after = decide(the_job, [the_policy], settings, deadline + timedelta(seconds=1))
    assert before.verdict is Verdict.OK
    assert after.verdict is not Verdict.OK
