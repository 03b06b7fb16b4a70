"""`jobwarden report`: what the watchdog did and what it saved, grouped, from the ledger.

Pure: entries in, rows out; the CLI reads the ledger and prints. What each column counts:

  stops        decisions settled `stopped` (or `stop_requested`: accepted, taking effect)
  would-stop   dry-run stops (`would_stop`)
  notify       notify-only policies' alerts (`notified`)
  held         stops held by the kill switch or the stop budget (`held`)
  failed       stop calls that failed (`failed`) and errors recorded against a job or policy
  cost so far  the estimated cost of the judged jobs when they were judged (not of `failed`)
  avoided      what the stops saved (each entry's `cost_avoided_usd`, see savings.py)
  would avoid  what the dry-run stops would have saved
A stop that found its job already ended (`already_finished`) counts nowhere: it saved nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import escape

from jobwarden.ledger import Entry
from jobwarden.model import Outcome, Verdict

GROUPINGS = ("service", "policy", "project", "team")
SPARKS = "▁▂▃▄▅▆▇█"
STOPPED = frozenset({Outcome.STOPPED, Outcome.STOP_REQUESTED})


@dataclass
class Row:
    key: str
    stops: int = 0
    would_stops: int = 0
    notifies: int = 0
    holds: int = 0
    failures: int = 0
    cost_usd: float = 0.0
    avoided_usd: float = 0.0
    would_avoid_usd: float = 0.0
    daily_usd: list[float] = field(default_factory=list)  # avoided + would avoid, per day

    @property
    def money(self) -> float:
        return self.avoided_usd + self.would_avoid_usd

    def add(self, entry: Entry, day: int) -> None:
        """Count one ledger entry into this row (`day`: its index in the report's days)."""
        saved = entry.cost_avoided_usd or 0.0
        counted = True
        if entry.verdict is Verdict.ERROR or entry.outcome is Outcome.FAILED:
            self.failures += 1
            counted = False
        elif entry.outcome in STOPPED and entry.verdict is Verdict.STOP:
            self.stops += 1
            self.avoided_usd += saved
            self.daily_usd[day] += saved
        elif entry.outcome is Outcome.WOULD_STOP:
            self.would_stops += 1
            self.would_avoid_usd += saved
            self.daily_usd[day] += saved
        elif entry.outcome is Outcome.NOTIFIED:
            self.notifies += 1
        elif entry.outcome is Outcome.HELD:
            self.holds += 1
        else:
            counted = False
        if counted:
            self.cost_usd += entry.cost_usd or 0.0

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        for key in ("cost_usd", "avoided_usd", "would_avoid_usd"):
            data[key] = round(data[key], 2)
        data["daily_usd"] = [round(v, 2) for v in self.daily_usd]
        return data


@dataclass(frozen=True)
class Report:
    by: str
    since: datetime
    until: datetime
    days: tuple[date, ...]
    rows: tuple[Row, ...]
    total: Row


def group_of(entry: Entry, by: str) -> str:
    if by == "service":
        return entry.service
    if by == "policy":
        return entry.policy or "(no policy)"
    if by == "project":
        return entry.job_name or entry.subject
    return entry.team or "(no team tag)"


def summarize(entries: Iterable[Entry], by: str, since: datetime, until: datetime) -> Report:
    """Rows by `by`, the most money first (then cost so far), and a total."""
    if by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}")
    first = since.astimezone(UTC).date()
    days = tuple(
        first + timedelta(days=n) for n in range((until.astimezone(UTC).date() - first).days + 1)
    )
    rows: dict[str, Row] = {}
    total = Row("TOTAL", daily_usd=[0.0] * len(days))
    for entry in entries:
        if entry.verdict is Verdict.RETRY or entry.outcome is Outcome.PENDING:
            continue
        day = min(max((entry.at.astimezone(UTC).date() - first).days, 0), len(days) - 1)
        key = group_of(entry, by)
        rows.setdefault(key, Row(key, daily_usd=[0.0] * len(days))).add(entry, day)
        total.add(entry, day)
    ordered = sorted(rows.values(), key=lambda r: (-round(r.money, 2), -r.cost_usd, r.key))
    return Report(by, since, until, days, tuple(ordered), total)


def sparkline(values: Sequence[float], top: float) -> str:
    """One character per day, scaled to `top` (the report's largest day, so rows compare);
    "·" for a day with nothing."""
    if top <= 0:
        return "·" * len(values)
    return "".join(
        "·" if v <= 0 else SPARKS[min(len(SPARKS) - 1, int(v / top * (len(SPARKS) - 1) + 0.5))]
        for v in values
    )


HEADER = (
    "STOPS",
    "WOULD-STOP",
    "NOTIFY",
    "HELD",
    "FAILED",
    "COST SO FAR",
    "AVOIDED",
    "WOULD AVOID",
)


def cells(row: Row) -> tuple[str, ...]:
    return (
        row.key,
        str(row.stops),
        str(row.would_stops),
        str(row.notifies),
        str(row.holds),
        str(row.failures),
        f"${row.cost_usd:,.2f}",
        f"${row.avoided_usd:,.2f}",
        f"${row.would_avoid_usd:,.2f}",
    )


def as_text(report: Report) -> str:
    """A table a person reads: one row per group, the total last, a sparkline of each day's
    money (avoided and would avoid) from the first day of the window to today."""
    top = max((v for row in report.rows for v in row.daily_usd), default=0.0)
    span = f"PER DAY ({report.days[0]:%m-%d}..{report.days[-1]:%m-%d})"
    header = (report.by.upper(), *HEADER, span)
    table: list[tuple[str, ...]] = [header]
    for row in (*report.rows, report.total):
        table.append((*cells(row), sparkline(row.daily_usd, top)))
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = []
    for n, line in enumerate(table):
        if n == len(table) - 1:
            lines.append("  ".join("-" * w for w in widths[:-1]))
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line[:-1], widths[:-1], strict=True))
        ]
        lines.append("  ".join([*padded, line[-1]]))
    when = f"{report.since:%Y-%m-%d %H:%M} to {report.until:%Y-%m-%d %H:%M} UTC"
    return "\n".join([f"jobwarden report by {report.by}, {when}", *lines])


def as_json(report: Report) -> dict[str, object]:
    return {
        "by": report.by,
        "since": report.since.isoformat(),
        "until": report.until.isoformat(),
        "days": [d.isoformat() for d in report.days],
        "rows": [row.as_json() for row in report.rows],
        "total": report.total.as_json(),
    }


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            report.by,
            "stops",
            "would_stops",
            "notifies",
            "holds",
            "failures",
            "cost_usd",
            "avoided_usd",
            "would_avoid_usd",
        ]
    )
    for row in (*report.rows, report.total):
        data = row.as_json()
        writer.writerow([data[k] for k in ("key", *list(data)[1:9])])
    return out.getvalue()


def as_svg(report: Report) -> str:
    """A bar per group: avoided (solid) and would avoid (light), to the same scale."""
    rows = report.rows
    label_w, bar_w, row_h, top = 220, 480, 26, 40
    height = top + row_h * max(1, len(rows)) + 30
    scale = max((r.money for r in rows), default=0.0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 120}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        f'<text x="10" y="20" font-size="14">Cost avoided by {escape(report.by)}, '
        f"{report.since:%Y-%m-%d} to {report.until:%Y-%m-%d} (USD)</text>",
    ]
    for n, row in enumerate(rows):
        y = top + n * row_h
        solid = bar_w * row.avoided_usd / scale
        light = bar_w * row.would_avoid_usd / scale
        parts += [
            f'<text x="10" y="{y + 15}">{escape(row.key[:32])}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{solid:.1f}" height="16" fill="#2b7a3d">'
            f"<title>avoided ${row.avoided_usd:,.2f}</title></rect>",
            f'<rect x="{label_w + solid:.1f}" y="{y + 3}" width="{light:.1f}" height="16" '
            f'fill="#9fd3a8"><title>would avoid ${row.would_avoid_usd:,.2f}</title></rect>',
            f'<text x="{label_w + solid + light + 6:.1f}" y="{y + 15}">${row.money:,.2f}</text>',
        ]
    legend_y = top + row_h * max(1, len(rows)) + 15
    parts += [
        f'<rect x="{label_w}" y="{legend_y - 10}" width="12" height="12" fill="#2b7a3d"/>',
        f'<text x="{label_w + 16}" y="{legend_y}">avoided (stopped)</text>',
        f'<rect x="{label_w + 150}" y="{legend_y - 10}" width="12" height="12" fill="#9fd3a8"/>',
        f'<text x="{label_w + 166}" y="{legend_y}">would avoid (dry run)</text>',
        "</svg>",
    ]
    return "\n".join(parts) + "\n"
