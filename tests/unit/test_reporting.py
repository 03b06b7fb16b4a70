"""`jobwarden report`'s arithmetic on hand-made ledger entries: what each column counts, the
order, the total, the sparkline and the machine formats."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from jobwarden.ledger import Entry
from jobwarden.model import Mode, Outcome, Verdict
from jobwarden.reporting import as_csv, as_json, as_svg, as_text, sparkline, summarize

UNTIL = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SINCE = UNTIL - timedelta(days=2)


def entry(
    service, verdict, outcome, *, day=0, cost=None, saved=None, name="p", team="", policy="pol"
):
    return Entry(
        subject=f"{service}#us-east-1#{name}",
        service=service,
        region="us-east-1",
        at=SINCE + timedelta(days=day, minutes=1),
        verdict=verdict,
        outcome=outcome,
        mode=Mode.ENFORCE if outcome is not Outcome.WOULD_STOP else Mode.DRY_RUN,
        reason="r",
        job_id=name,
        job_name=name,
        policy=policy,
        cost_usd=cost,
        cost_avoided_usd=saved,
        team=team,
    )


ENTRIES = [
    entry("glue", Verdict.STOP, Outcome.STOPPED, cost=17.6, saved=211.2, team="data"),
    entry("glue", Verdict.STOP, Outcome.WOULD_STOP, day=1, cost=3.0, saved=10.0, team="data"),
    entry("codebuild", Verdict.STOP, Outcome.STOPPED, day=2, cost=0.6, saved=0.31, team="web"),
    entry("codebuild", Verdict.STOP, Outcome.ALREADY_FINISHED, cost=0.6, saved=5.0),
    entry("codebuild", Verdict.HELD, Outcome.HELD, cost=0.5, saved=4.0),
    entry("codebuild", Verdict.STOP, Outcome.FAILED, cost=0.5, saved=4.0),
    entry("batch", Verdict.NOTIFY, Outcome.NOTIFIED, cost=1.25),
    entry("batch", Verdict.ERROR, Outcome.NONE, name=""),
    entry("batch", Verdict.STOP, Outcome.PENDING, cost=9.0, saved=9.0),  # still open
    entry("amplify", Verdict.RETRY, Outcome.RETRIED),
]


def test_columns_order_and_total():
    report = summarize(ENTRIES, "service", SINCE, UNTIL)
    rows = {r.key: r for r in report.rows}

    assert [r.key for r in report.rows] == ["glue", "codebuild", "batch"]  # most money first
    glue, codebuild, batch = rows["glue"], rows["codebuild"], rows["batch"]
    assert (glue.stops, glue.would_stops, glue.avoided_usd, glue.would_avoid_usd) == (
        1,
        1,
        211.2,
        10.0,
    )
    assert glue.cost_usd == pytest.approx(20.6)
    # already_finished saved nothing and counts nowhere; held and failed are not money
    assert (codebuild.stops, codebuild.holds, codebuild.failures) == (1, 1, 1)
    assert codebuild.avoided_usd == pytest.approx(0.31)
    assert codebuild.cost_usd == pytest.approx(1.1)  # the stop and the hold
    assert (batch.notifies, batch.failures, batch.cost_usd) == (1, 1, 1.25)
    total = report.total
    assert (total.stops, total.would_stops, total.notifies, total.holds, total.failures) == (
        2,
        1,
        1,
        1,
        2,
    )
    assert total.avoided_usd == pytest.approx(211.51)
    assert total.daily_usd == pytest.approx([211.2, 10.0, 0.31])


def test_groupings():
    assert [r.key for r in summarize(ENTRIES, "team", SINCE, UNTIL).rows] == [
        "data",
        "web",
        "(no team tag)",
    ]
    assert [r.key for r in summarize(ENTRIES, "policy", SINCE, UNTIL).rows] == ["pol"]
    with pytest.raises(ValueError, match="cannot group by 'owner'"):
        summarize(ENTRIES, "owner", SINCE, UNTIL)


def test_sparkline_scales_to_the_largest_day():
    assert sparkline([0.0, 1.0, 8.0, 4.0], 8.0) == "·▂█▅"
    assert sparkline([0.0, 0.0], 0.0) == "··"


def test_text_table_has_a_total_line_and_a_sparkline_per_row():
    text = as_text(summarize(ENTRIES, "service", SINCE, UNTIL))
    lines = text.splitlines()
    assert lines[0] == "jobwarden report by service, 2026-11-28 12:00 to 2026-11-30 12:00 UTC"
    assert lines[1].split()[:2] == ["SERVICE", "STOPS"]
    assert lines[2].startswith("glue")
    assert lines[2].endswith("█▁·")
    assert set(lines[-2].replace(" ", "")) == {"-"}
    assert lines[-1].startswith("TOTAL")
    assert "$211.51" in lines[-1]


def test_json_and_csv():
    report = summarize(ENTRIES, "service", SINCE, UNTIL)
    data = json.loads(json.dumps(as_json(report)))
    assert data["rows"][0]["key"] == "glue"
    assert data["total"]["avoided_usd"] == 211.51
    rows = list(csv.reader(io.StringIO(as_csv(report))))
    assert rows[0][:3] == ["service", "stops", "would_stops"]
    assert rows[-1][0] == "TOTAL"
    assert rows[1] == ["glue", "1", "1", "0", "0", "0", "20.6", "211.2", "10.0"]


def test_svg_is_well_formed_and_names_each_group():
    from xml.etree import ElementTree

    svg = as_svg(summarize(ENTRIES, "service", SINCE, UNTIL))
    root = ElementTree.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert {"glue", "codebuild", "batch"} <= set(texts)
