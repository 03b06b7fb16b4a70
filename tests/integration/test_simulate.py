"""`jobwarden policy simulate` against the emulated account's history: the demo's seeded
history (150 finished CodeBuild builds, two pages of ListBuilds; 60 Amplify jobs, two pages
of ListJobs; a week of Glue runs), replayed against documents that were never pushed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from jobwarden.cli import main
from jobwarden.local import amplify, codebuild, glue
from jobwarden.simulate import MutationRefused, ReadOnlyClients

READS = ("List", "Get", "Describe", "BatchGet")


@pytest.fixture
def seeded(account):
    now = datetime.now(UTC)
    return {
        "codebuild": codebuild.seed_demo(account.emulator, account.clients, now),
        "amplify": amplify.seed_demo(account.emulator, account.clients, now),
        "glue": glue.seed_demo(account.emulator, account.clients, now),
    }


def write(tmp_path, name: str, document: dict) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(document))
    return str(path)


def simulate(capsys, *args: str) -> tuple[int, dict, str]:
    code = main(["policy", "simulate", "--region", "us-east-1", "--json", *args])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.err


def test_replays_every_page_of_history_and_calls_nothing_but_reads(
    account, capsys, tmp_path, seeded
):
    docs = write(
        tmp_path,
        "docs-fast",
        {
            "match": {"services": ["codebuild"], "names": ["docs-*"]},
            "limits": {"max_run_minutes": 3},
        },
    )
    storefront = write(
        tmp_path,
        "storefront",
        {
            "match": {"services": ["amplify"], "names": ["storefront/*"]},
            "limits": {"max_run_minutes": 4},
        },
    )
    before = codebuild.describe_for_demo(account.clients, seeded["codebuild"])

    code, result, err = simulate(
        capsys, docs, storefront, "--since", "2d", "--service", "codebuild", "--service", "amplify"
    )

    assert code == 0
    by_service: dict[str, list[dict]] = {}
    for job in result["jobs"]:
        by_service.setdefault(job["service"], []).append(job)
    # 150 finished docs-site builds ran 5 min each, and the healthy one runs 10 min now:
    # every one passed 3 min; the 150 are past the first page of ListBuilds.
    builds = by_service["codebuild"]
    assert len(builds) == 151
    assert {b["verdict"] for b in builds} == {"stop"}
    assert sum(b["status"] == "SUCCEEDED" for b in builds) == 150
    # each finished build ran 2 min past the stop at $0.005 a minute: a cent each
    finished = [b for b in builds if b["status"] == "SUCCEEDED"]
    assert {b["saved_usd"] for b in finished} == {0.01}
    first = min(finished, key=lambda b: b["at"])
    assert first["reason"].startswith("running 3 min, over the 3 min limit of policy docs-fast")
    # 60 storefront jobs built 5 min each (two pages of ListJobs), then the stuck one never ran
    jobs = by_service["amplify"]
    assert len(jobs) == 60
    assert {j["saved_usd"] for j in jobs} == {0.01}
    assert result["totals"]["stop"] == 211
    assert result["totals"]["jobs"] == 150 + 4 + 60 + 2

    calls = result["calls"]
    assert calls["ListBuilds"] == 2  # paged past its first 100
    assert calls["ListJobs"] >= 2  # storefront/main's 61 jobs: two pages of 50
    assert all(name.startswith(READS) for name in calls), calls
    # nothing changed: every seeded build as it was
    assert codebuild.describe_for_demo(account.clients, seeded["codebuild"]) == before
    assert "[########################] 2/2 services" in err


def test_the_stop_budget_holds_what_it_would_not_have_allowed(account, capsys, tmp_path, seeded):
    docs = write(
        tmp_path,
        "docs-fast",
        {
            "match": {"services": ["codebuild"], "names": ["docs-*"]},
            "limits": {"max_run_minutes": 3},
        },
    )
    settings = write(tmp_path, "settings", {"max_stops_per_window": 2, "stop_window_minutes": 60})

    code, result, _ = simulate(
        capsys, docs, "--since", "2d", "--service", "codebuild", "--settings", settings
    )

    assert code == 0
    # one build every 10 minutes: 2 of each hour's 6 stopped, the rest held
    verdicts = [j["verdict"] for j in sorted(result["jobs"], key=lambda j: j["at"])]
    assert verdicts[:6] == ["stop", "stop", "held", "held", "held", "held"]
    held = next(j for j in result["jobs"] if j["verdict"] == "held")
    assert "the stop budget of 2 per 60 min would have been spent" in held["reason"]
    assert result["totals"]["held"] == verdicts.count("held") > 90


def test_a_notify_policy_warns_and_a_cost_limit_is_found_when_it_was_passed(
    account, capsys, tmp_path, seeded
):
    cost = write(
        tmp_path,
        "glue-cost",
        {"match": {"services": ["glue"]}, "limits": {"max_cost_usd": 5}, "action": "notify"},
    )
    code, result, _ = simulate(capsys, cost, "--since", "8d", "--service", "glue")

    assert code == 0
    # nightly-aggregate: 10 G.2X workers, 20 DPU at $0.44 = $8.80 an hour: $5 after 34 min 5 s.
    # Its 7 finished runs ran 39 min; the stuck one runs still. hourly-ingest stays under.
    runs = result["jobs"]
    assert len(runs) == 8
    assert {r["verdict"] for r in runs} == {"notify"}
    assert {r["name"] for r in runs} == {"nightly-aggregate"}
    assert all(r["reason"].startswith("estimated cost $5.00, over the $5.00 limit") for r in runs)
    assert result["totals"]["saved_usd"] == 0  # a warning stops nothing


def test_the_simulation_clients_refuse_any_change_before_it_is_sent(account, seeded):
    clients = ReadOnlyClients(default_region="us-east-1")
    build_id = seeded["codebuild"]["nightly-etl (running 2 h, 60 min limit)"]
    with pytest.raises(MutationRefused, match="never calls StopBuild"):
        clients.client("codebuild").stop_build(id=build_id)
    assert account.build(build_id)["buildStatus"] == "IN_PROGRESS"


def test_the_simulate_module_cannot_reach_the_act_step():
    """Structural: nothing the simulator imports can stop, retry, record or alert."""
    import subprocess
    import sys

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, jobwarden.simulate; print(' '.join(sorted(sys.modules)))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for step in ("act", "sweep", "retries", "outbox", "alerts", "budget", "handlers"):
        assert f"jobwarden.{step}" not in loaded
