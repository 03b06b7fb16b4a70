"""`jobwarden policy test`: the test cases policy documents carry, run against the documents
given together (exactly one policy governs a job, so a case in one document may be decided by
another), with a fixed clock, as `opa test` runs a policy's tests. No AWS call is made.

Each case's job is submitted `queued_minutes + run_minutes` before the clock and started
`run_minutes` before it (still queued when `run_minutes` is absent); its cost basis is priced
with the built-in rates. The settings are the defaults in enforce mode, so a stop is `stop`;
the kill switch and the stop budget belong to the account, not to a policy.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobwarden.engine import decide
from jobwarden.model import CostBasis, Decision, Job, Mode, Policy, Settings
from jobwarden.policies import Case

CLOCK = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Result:
    case: Case
    decision: Decision

    @property
    def passed(self) -> bool:
        if str(self.decision.verdict) != self.case.expect:
            return False
        return self.case.expect_policy is None or self.decision.policy == self.case.expect_policy

    def line(self) -> str:
        got = f"{self.decision.verdict} (policy {self.decision.policy or 'none'})"
        if self.passed:
            return f"ok    {self.case.document}: {self.case.name}: {got}"
        wanted = self.case.expect
        if self.case.expect_policy:
            wanted += f" (policy {self.case.expect_policy})"
        return (
            f"FAIL  {self.case.document}: {self.case.name}: expected {wanted}, got {got}: "
            f"{self.decision.reason}"
        )


def job_of(case: Case, now: datetime = CLOCK) -> Job:
    run = case.run_minutes
    started = None if run is None else now - timedelta(minutes=run)
    submitted = (started or now) - timedelta(minutes=case.queued_minutes)
    basis = CostBasis(tuple(case.cost_basis.items())) if case.cost_basis else None
    return Job(
        service=case.service,
        job_id=f"test:{case.name}",
        name=case.job_name,
        region="us-east-1",
        status="RUNNING" if started else "QUEUED",
        submitted_at=submitted,
        started_at=started,
        tags=dict(case.tags),
        cost_basis=basis,
    )


def run_cases(cases: Iterable[Case], policies: Sequence[Policy]) -> list[Result]:
    settings = Settings(mode=Mode.ENFORCE)
    return [Result(case, decide(job_of(case), policies, settings, CLOCK)) for case in cases]
