"""Property tests: hostile policy and settings documents never crash loading, validating,
sweeping or a deadline, and never stop a job on the strength of a broken document; and
`policy validate` agrees with the sweeps on every one of them."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from hypothesis import given, settings
from hypothesis import strategies as st
from jobwarden.alerts import MemoryAlerts
from jobwarden.aws import Clients
from jobwarden.cli import read_policies
from jobwarden.engine import next_deadline
from jobwarden.ledger import MemoryLedger
from jobwarden.model import Job, Outcome, Policy
from jobwarden.policies import build_configuration
from jobwarden.services import REGISTRY
from jobwarden.services.base import ServiceAdapter
from jobwarden.sweep import Sweeper

from tests.conftest import NOW
from tests.unit.factories import job

KNOWN = tuple(sorted(REGISTRY))
STUCK = replace(
    job(name="nightly-etl", run_minutes=400 * 24 * 60, tags={"team": "data"}),
    job_id="nightly-etl:1",
)

VALID_POLICY: dict[str, Any] = {
    "description": "nightly builds",
    "match": {"services": ["codebuild"], "names": ["nightly-*"], "tags": {"team": "data"}},
    "limits": {"max_run_minutes": 60, "max_queue_minutes": 30, "max_cost_usd": 5},
    "action": "stop",
    "priority": 10,
}
VALID_SETTINGS: dict[str, Any] = {
    "mode": "enforce",
    "exempt_tag": "jobwarden:exempt",
    "max_stops_per_sweep": 10,
    "kill_switch": False,
    "regions": ["us-east-1"],
    "prices": {"codebuild:LINUX_CONTAINER:BUILD_GENERAL1_SMALL": 0.3},
    "ledger_retention_days": 90,
    "reconcile_every_minutes": 30,
}

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 1e-300, 1e10, 1e300, 2160, 2161, 527040, 10**6 + 1]),
    st.text(max_size=20),
    st.sampled_from(["", "*", "us east 2", "us-east-1", "codebuild", "RETRY", "enforce"]),
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    ),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*prefix, key))


@st.composite
def mutated(draw: st.DrawFn, valid: dict[str, Any]) -> str:
    """The valid document with a few fields replaced, removed or added, or any JSON at all,
    written as json.dumps writes it (NaN, Infinity) or as raw text."""
    if draw(st.integers(0, 9)) == 0:
        return json.dumps(draw(JSON_VALUES))
    document = json.loads(json.dumps(valid))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(list(paths(document))[1:] or [("extra",)]))
        parent = document
        for key in where[:-1]:
            parent = parent[key] if isinstance(parent, dict) and key in parent else {}
        if not isinstance(parent, dict):
            continue
        choice = draw(st.integers(0, 2))
        if choice == 0:
            parent.pop(where[-1], None)
        elif choice == 1:
            parent[where[-1]] = draw(JSON_VALUES)
        else:
            parent[draw(st.text(max_size=8))] = draw(JSON_VALUES)
    text = json.dumps(document)
    if draw(st.booleans()):
        text = text.replace("60", "6" + "0" * draw(st.sampled_from([3, 12, 400, 5000])), 1)
    return text


class StuckOnly(ServiceAdapter):
    """One codebuild job far over every limit a valid policy could set."""

    name = "codebuild"
    grants = ()
    stopped: ClassVar[list[str]] = []

    def list_active(self, now: datetime) -> Iterator[Job]:
        yield STUCK

    def stop(self, job: Job, reason: str) -> Outcome:
        StuckOnly.stopped.append(job.job_id)
        return Outcome.STOPPED


def sweep_with(settings_text: str, policy_text: str) -> tuple[list[str], Any]:
    configuration = build_configuration(settings_text, {"hostile": policy_text}, KNOWN)
    StuckOnly.stopped = []
    sweeper = Sweeper(
        Clients(default_region="us-east-1"),
        MemoryLedger(),
        MemoryAlerts(),
        configuration,
        adapters={"codebuild": StuckOnly},
    )
    return StuckOnly.stopped, (configuration, sweeper.run("codebuild", NOW))


@settings(max_examples=100, deadline=None)
@given(policy_text=mutated(VALID_POLICY))
def test_hostile_policies_never_crash_and_validate_agrees_with_the_sweeps(policy_text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "hostile.json"
        path.write_text(policy_text)
        _, _, messages = read_policies([path])
    stopped, (configuration, result) = sweep_with(json.dumps(VALID_SETTINGS), policy_text)
    valid = [p.name for p in configuration.policies] == ["hostile"]
    assert valid == (messages == [])
    if not valid:
        assert stopped == []
        assert all(d.policy != "hostile" for d in result.decisions)
    for policy in configuration.policies:
        next_deadline(STUCK, policy, configuration.settings.prices)


@settings(max_examples=100, deadline=None)
@given(settings_text=mutated(VALID_SETTINGS))
def test_hostile_settings_never_crash_and_never_stop_when_broken(settings_text):
    stopped, (configuration, result) = sweep_with(settings_text, json.dumps(VALID_POLICY))
    if configuration.problems:
        assert configuration.settings.kill_switch is True
        assert stopped == []
        assert Outcome.STOPPED not in result.outcomes.values()
    if stopped:
        assert configuration.settings.mode == "enforce"
        assert not configuration.settings.kill_switch


FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.none()


@settings(max_examples=100, deadline=None)
@given(
    run=FLOATS,
    queue=FLOATS,
    cost=FLOATS,
    price=st.floats(allow_nan=True, allow_infinity=True),
    age=st.floats(min_value=0, max_value=1e6),
)
def test_a_deadline_never_overflows_whatever_the_numbers(run, queue, cost, price, age):
    unchecked = Policy("raw", max_run_minutes=run, max_queue_minutes=queue, max_cost_usd=cost)
    prices = {"codebuild:LINUX_CONTAINER:BUILD_GENERAL1_SMALL": price}
    for candidate in (STUCK, job(run_minutes=None, queued_minutes=age), job(run_minutes=age)):
        deadline = next_deadline(candidate, unchecked, prices)
        assert deadline is None or deadline.year < 2200
