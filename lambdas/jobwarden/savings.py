"""What a stop saves: the cost of the run it cut short, estimated when the stop is decided.

The method, named in every ledger entry (`avoided_method`):

- `timeout`: a running job left alone runs at most until the service's own timeout for it
  (CodeBuild's build timeout, Glue's run Timeout, Batch's attemptDurationSeconds, Amplify's
  _BUILD_TIMEOUT, 30 min unless set): its rate times the minutes from now to that timeout.
  A hung job runs to its timeout, so this is what the stop saved; a job that would have
  ended sooner on its own saved less, so the figure is an upper bound for such jobs.
- `horizon`: where the job has no timeout (a Batch job without attemptDurationSeconds) or
  its timeout is further off than `HORIZON`, the minutes are capped at `HORIZON`: someone
  would have noticed a job hung for a day, so a day of it is the most a stop is credited with.
- `queued`: a job stopped before it started has cost nothing and is credited with nothing
  (none of the five services bills waiting; what it would have cost once running is unknown).
- `unpriced`: no rate is known for the job (a compute type without a price, a Flex Glue run
  that has not reported its DPU use): no figure, and no metric.

The project's recent typical run was the other candidate; it needs each job's history at
stop time (calls a sweep does not make), and a hung run is by definition not a typical one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from jobwarden.model import Avoided, Job
from jobwarden.pricing import hourly_rate

HORIZON = timedelta(hours=24)
TIMEOUT, CAPPED, QUEUED, UNPRICED = "timeout", "horizon", "queued", "unpriced"


def estimate_avoided(job: Job, now: datetime, prices: Mapping[str, float]) -> Avoided:
    """The cost a stop of `job` at `now` avoids, and how it was estimated. Pure."""
    if job.started_at is None:
        return Avoided(0.0, 0.0, QUEUED)
    horizon_minutes = HORIZON.total_seconds() / 60
    minutes, method = horizon_minutes, CAPPED
    if job.timeout_minutes is not None:
        left = max(0.0, job.timeout_minutes - job.run_seconds(now) / 60)
        if left <= horizon_minutes:
            minutes, method = left, TIMEOUT
    rate = None if job.cost_basis is None else hourly_rate(job.cost_basis, prices)
    if rate is None:
        return Avoided(None, minutes, UNPRICED)
    return Avoided(rate * minutes / 60, minutes, method)
