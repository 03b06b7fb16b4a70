"""`jobwarden policy simulate`: the services' own recent history replayed against policy
documents that are not pushed anywhere, to see what they would have done before they do it.

Read-only by construction: this module imports no step that acts (act, sweep, retries,
outbox, ledger, alerts) and calls only the adapters' `list_history`; the CLI hands it clients
that refuse, before anything is sent, every operation that is not a read (`ReadOnlyClients`).

The replay, for each job of the history: the one policy that governs it (engine.decide,
as a sweep would judge it), then the first instant one of that policy's limits was passed
(queue, run or cost: the instants are computed, then confirmed by `decide` at that instant
on the job as it was then). That instant is when it would have been warned (a notify policy)
or stopped; with events and deadlines deployed a stop lands within seconds of it, with sweeps
alone within one sweep's interval. Stops are then counted against the settings' stop budget,
service by service in time order, and those over it are held. The money saved is what the
job went on to cost after that instant in fact: its rate times the time it ran past it (to
its end, or to now while it still runs), not an estimate of what it might have run.
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, TextIO

from jobwarden.aws import Clients
from jobwarden.engine import decide, hold, select_policy
from jobwarden.model import Decision, Mode, Policy, Settings, Verdict
from jobwarden.pricing import hourly_rate
from jobwarden.services.base import Past, ServiceAdapter, Unreadable

ONE_SECOND = timedelta(seconds=1)
READ_PREFIXES = ("List", "Get", "Describe", "BatchGet")
JUDGED = frozenset({Verdict.STOP, Verdict.NOTIFY, Verdict.HELD})


class MutationRefused(RuntimeError):
    """A call that is not a read, refused before it was sent."""


class ReadOnlyClients(Clients):
    """Clients that refuse every operation but List*, Get*, Describe* and BatchGet*, counting
    each call by name (`calls`), so a simulation can show it never asked for a change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.calls: dict[str, int] = defaultdict(int)

    def client(self, service: str, region: str | None = None) -> Any:
        made = super().client(service, region)
        if not getattr(made, "_jobwarden_read_only", False):
            made.meta.events.register_first("before-call.*.*", self._guard)
            made._jobwarden_read_only = True
        return made

    def _guard(self, model: Any, **_: Any) -> None:
        name = model.name
        self.calls[name] += 1
        if name == "GetCallerIdentity":  # STS: who we are, for Glue's job ARNs
            return
        if not name.startswith(READ_PREFIXES):
            raise MutationRefused(f"policy simulate never calls {name}")


@dataclass(frozen=True)
class Replayed:
    """One job the policies would have acted on, when, and what it would have saved."""

    past: Past
    decision: Decision
    saved_usd: float | None  # None where the job has no known rate

    def as_json(self) -> dict[str, Any]:
        job, decision = self.past.job, self.decision
        return {
            "service": job.service,
            "region": job.region,
            "job_id": job.job_id,
            "name": job.name,
            "verdict": str(decision.verdict),
            "at": decision.at.isoformat(),
            "policy": decision.policy,
            "reason": decision.reason,
            "status": self.past.status,
            "ended_at": self.past.ended_at.isoformat() if self.past.ended_at else None,
            "cost_usd": None if decision.cost_usd is None else round(decision.cost_usd, 2),
            "saved_usd": None if self.saved_usd is None else round(self.saved_usd, 2),
        }


@dataclass
class Simulation:
    since: datetime
    now: datetime
    replayed: int = 0  # jobs of the history judged
    found: list[Replayed] = field(default_factory=list)
    unreadable: list[Unreadable] = field(default_factory=list)

    def totals(self) -> dict[str, Any]:
        found = self.found
        return {
            "jobs": self.replayed,
            "stop": sum(r.decision.verdict is Verdict.STOP for r in found),
            "notify": sum(r.decision.verdict is Verdict.NOTIFY for r in found),
            "held": sum(r.decision.verdict is Verdict.HELD for r in found),
            "saved_usd": round(
                sum(r.saved_usd or 0.0 for r in found if r.decision.verdict is Verdict.STOP), 2
            ),
            "unreadable": len(self.unreadable),
        }


def first_breach(
    past: Past, policies: Sequence[Policy], settings: Settings, now: datetime
) -> Decision | None:
    """The first instant the governing policy's limits were passed, as `decide` judged the job
    as it was then; None when it never was (or the job is exempt, or ungoverned)."""
    job = past.job
    policy = select_policy(job, policies)
    if policy is None:
        return None
    end = past.ended_at or now
    candidates: list[datetime] = []
    if policy.max_queue_minutes is not None:
        candidates.append(job.submitted_at + timedelta(minutes=policy.max_queue_minutes))
    if job.started_at is not None:
        if policy.max_run_minutes is not None:
            candidates.append(job.started_at + timedelta(minutes=policy.max_run_minutes))
        rate = None if job.cost_basis is None else hourly_rate(job.cost_basis, settings.prices)
        if policy.max_cost_usd is not None and rate:
            candidates.append(job.started_at + timedelta(hours=policy.max_cost_usd / rate))
    for instant in sorted(c + ONE_SECOND for c in candidates):
        if instant > end:
            break
        started = job.started_at if job.started_at and job.started_at <= instant else None
        decision = decide(replace(job, started_at=started), policies, settings, instant)
        if decision.verdict in JUDGED:
            return decision
        if decision.verdict is Verdict.EXEMPT:
            return None
    return None


def saved(past: Past, decision: Decision, settings: Settings, now: datetime) -> float | None:
    """What the job cost after `decision.at`, in fact: its rate times the time it ran past it."""
    job = past.job
    rate = None if job.cost_basis is None else hourly_rate(job.cost_basis, settings.prices)
    if rate is None:
        return None
    if job.started_at is None:
        return 0.0
    end = past.ended_at or now
    ran_after = (end - max(decision.at, job.started_at)).total_seconds()
    return rate * max(0.0, ran_after) / 3600


def within_budget(found: list[Replayed], settings: Settings) -> list[Replayed]:
    """Stops over the settings' rolling stop budget held, per service in time order."""
    window = timedelta(minutes=settings.stop_window_minutes)
    taken: dict[str, list[datetime]] = defaultdict(list)
    result = []
    for item in sorted(found, key=lambda r: r.decision.at):
        decision = item.decision
        if decision.verdict is Verdict.STOP:
            recent = [t for t in taken[decision.job.service] if t > decision.at - window]
            if len(recent) >= settings.max_stops_per_window:
                why = (
                    f"the stop budget of {settings.max_stops_per_window} per "
                    f"{settings.stop_window_minutes} min would have been spent"
                )
                result.append(replace(item, decision=hold(decision, why)))
                continue
            taken[decision.job.service].append(decision.at)
        result.append(item)
    return result


Progress = Callable[[str, int, int, int], None]  # service, services done, services, jobs read


def simulate(
    adapters: Iterable[ServiceAdapter],
    policies: Sequence[Policy],
    settings: Settings,
    since: datetime,
    now: datetime,
    *,
    progress: Progress | None = None,
) -> Simulation:
    """Replay every adapter's history since `since` against `policies`, in enforce mode."""
    settings = replace(settings, mode=Mode.ENFORCE)
    chosen = list(adapters)
    simulation = Simulation(since, now)
    for done, adapter in enumerate(chosen):
        read = 0
        for item in adapter.list_history(since, now):
            if isinstance(item, Unreadable):
                simulation.unreadable.append(item)
                continue
            read += 1
            simulation.replayed += 1
            if progress and read % 25 == 0:
                progress(adapter.name, done, len(chosen), read)
            decision = first_breach(item, policies, settings, now)
            if decision is not None:
                simulation.found.append(
                    Replayed(item, decision, saved(item, decision, settings, now))
                )
        if progress:
            progress(adapter.name, done + 1, len(chosen), read)
    simulation.found = within_budget(simulation.found, settings)
    return simulation


def progress_bar(stream: TextIO = sys.stderr, width: int = 24) -> Progress:
    """A one-line bar on `stream`: services read so far, and jobs read of the current one."""

    def show(service: str, done: int, total: int, jobs: int) -> None:
        filled = int(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        stream.write(f"\r[{bar}] {done}/{total} services  {service}: {jobs} jobs read   ")
        if done == total:
            stream.write("\n")
        stream.flush()

    return show


def table(simulation: Simulation) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for item in sorted(simulation.found, key=lambda r: r.decision.at):
        decision, past = item.decision, item.past
        ran = f"{decision.run_minutes:.0f}m" if past.job.started_at else "queued"
        money = "-" if item.saved_usd is None else f"${item.saved_usd:,.2f}"
        rows.append(
            (
                f"{decision.at:%Y-%m-%d %H:%M}",
                past.job.service,
                past.job.name,
                "warn" if decision.verdict is Verdict.NOTIFY else str(decision.verdict),
                ran,
                past.status.split(" ")[0],
                money if decision.verdict is Verdict.STOP else f"({money})",
                decision.reason,
            )
        )
    return rows


HEADER = ("WHEN (UTC)", "SERVICE", "JOB", "WOULD", "AT", "ENDED AS", "SAVED", "REASON")


def summary_line(simulation: Simulation) -> str:
    t = simulation.totals()
    return (
        f"{t['jobs']} jobs since {simulation.since:%Y-%m-%d %H:%M}: {t['stop']} would have "
        f"been stopped (${t['saved_usd']:,.2f} saved), {t['notify']} warned, {t['held']} held "
        f"by the stop budget or the kill switch; {t['unreadable']} resource(s) unreadable"
    )
