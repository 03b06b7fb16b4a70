"""Every CLI failure is one plain line on stderr and a documented exit code."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from jobwarden.cli import build_parser, main
from jobwarden.local.account import put_policy, put_settings
from jobwarden.sweep import Sweeper


def scan_args(account, *extra: str) -> list[str]:
    return [
        "scan",
        "--region",
        "us-east-1",
        "--table",
        account.resources.table,
        "--topic-arn",
        account.resources.topic_arn,
        *extra,
    ]


def one_plain_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_an_ssm_error_is_one_line_and_exit_2(account, capsys, monkeypatch):
    from botocore.exceptions import ClientError

    def denied(*_, **__):
        raise ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}},
            "GetParametersByPath",
        )

    monkeypatch.setattr(account.clients.client("ssm"), "get_parameters_by_path", denied)
    monkeypatch.setattr("jobwarden.cli.clients_for", lambda _args: account.clients)
    assert main(scan_args(account)) == 2
    line = one_plain_line(capsys.readouterr().err)
    assert line.startswith("jobwarden: cannot read the policies and settings:")
    assert "AccessDeniedException" in line


def test_missing_credentials_are_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = main(["scan", "--region", "us-east-1", "--table", "t", "--topic-arn", "arn:t"])
    assert code == 2
    line = one_plain_line(capsys.readouterr().err)
    assert "Unable to locate credentials" in line


def test_a_region_botocore_rejects_is_bad_usage(capsys):
    assert main(["scan", "--region", "us east 2", "--table", "t", "--topic-arn", "a"]) == 2
    assert "'us east 2' is not a region botocore knows" in capsys.readouterr().err


def test_a_missing_table_for_decisions_is_exit_2(account, capsys):
    assert main(["decisions", "--region", "us-east-1", "--table", "no-such-table"]) == 2
    assert "ResourceNotFoundException" in one_plain_line(capsys.readouterr().err)


def test_one_failing_service_does_not_end_the_scan(account, capsys, monkeypatch):
    put_settings(account.clients, {"mode": "dry_run"})
    put_policy(account.clients, "one-hour", {"limits": {"max_run_minutes": 60}})
    account.project("nightly-etl")
    build = account.start_build("nightly-etl", timedelta(hours=2), timedelta(minutes=1))
    real_run = Sweeper.run

    def run(self, service, now):
        if service == "batch":
            raise RuntimeError("batch exploded\nwith a second line")
        return real_run(self, service, now)

    monkeypatch.setattr(Sweeper, "run", run)
    assert main(scan_args(account, "--json")) == 1
    captured = capsys.readouterr()
    line = one_plain_line(captured.err)
    assert line == "jobwarden: batch: the sweep failed: batch exploded with a second line"
    decisions = [json.loads(row) for row in captured.out.splitlines()]
    assert [(d["job_id"], d["verdict"]) for d in decisions] == [(build, "stop")]


def test_an_unexpected_error_is_one_line_and_exit_1(account, capsys, monkeypatch):
    def broken(*_, **__):
        raise KeyError("surprise")

    monkeypatch.setattr("jobwarden.cli.DynamoLedger", broken)
    assert main(["decisions", "--region", "us-east-1", "--table", "t"]) == 1
    assert one_plain_line(capsys.readouterr().err) == "jobwarden: 'surprise'"


def test_a_broken_documents_reason_is_printed_once(account, capsys):
    put_policy(account.clients, "broken", '{"limits": {"max_run_minutes": NaN}}')
    assert main(scan_args(account, "--service", "codebuild")) == 1
    captured = capsys.readouterr()
    reason = "limits.max_run_minutes: must be a finite number, got nan"
    assert captured.err.count(reason) == 1
    assert captured.out.count(reason) == 1  # its row in the table


def helps(command: list[str]) -> dict[str, str]:
    """Each option of a (sub)command and its help text."""
    parser = build_parser()
    for name in command:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[name]  # type: ignore[attr-defined]
    return {
        option: action.help or ""
        for action in parser._actions
        for option in action.option_strings
        if option not in ("-h", "--help")
    }


@pytest.mark.parametrize(
    "command",
    [["scan"], ["decisions"], ["policy", "validate"], ["policy", "push"], []],
)
def test_every_option_has_help(command):
    assert all(helps(command).values()), helps(command)


def test_each_command_shows_only_its_own_options():
    assert "--policy-path" not in helps(["decisions"])
    assert "--settings-parameter" not in helps(["decisions"])
    assert "--table" not in helps(["policy", "push"])
    assert "--settings-parameter" not in helps(["policy", "push"])
    assert set(helps(["policy", "validate"])) == {"--root"}


def test_push_refuses_two_files_of_the_same_name(account, capsys, tmp_path):
    document = json.dumps({"limits": {"max_run_minutes": 60}})
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "nightly.json").write_text(document)
    files = [str(tmp_path / "a" / "nightly.json"), str(tmp_path / "b" / "nightly.json")]
    assert main(["policy", "push", "--region", "us-east-1", *files]) == 1
    err = capsys.readouterr().err
    assert f"{files[1]}: would overwrite {files[0]} (both are named 'nightly')" in err
    assert "give --root" in err
    ssm = account.clients.client("ssm")
    assert ssm.get_parameters_by_path(Path="/jobwarden/policies/")["Parameters"] == []


def test_push_with_a_root_maps_sub_folders_to_sub_paths(account, capsys, tmp_path):
    for folder, minutes in (("team-a", 60), ("team-b", 90)):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "nightly.json").write_text(
            json.dumps({"limits": {"max_run_minutes": minutes}})
        )
    files = [str(tmp_path / f / "nightly.json") for f in ("team-a", "team-b")]
    root = ["--root", str(tmp_path)]
    assert main(["policy", "push", "--region", "us-east-1", *root, *files]) == 0
    assert "pushed to /jobwarden/policies/team-b/nightly" in capsys.readouterr().out
    ssm = account.clients.client("ssm")
    stored = ssm.get_parameters_by_path(Path="/jobwarden/policies/", Recursive=True)
    assert sorted(p["Name"] for p in stored["Parameters"]) == [
        "/jobwarden/policies/team-a/nightly",
        "/jobwarden/policies/team-b/nightly",
    ]


def test_validate_names_each_file_as_push_would(capsys, tmp_path):
    (tmp_path / "team a").mkdir()
    bad = tmp_path / "team a" / "nightly.json"
    bad.write_text(json.dumps({"limits": {"max_run_minutes": 60}}))
    assert main(["policy", "validate", "--root", str(tmp_path), str(bad)]) == 1
    assert "'team a/nightly' cannot name a parameter" in capsys.readouterr().err
    outside = tmp_path.parent / "outside.json"
    assert main(["policy", "validate", "--root", str(tmp_path), str(outside)]) == 1
    assert "not below --root" in capsys.readouterr().err


def test_scan_keeps_going_after_a_broken_settings_document(account, capsys):
    put_settings(account.clients, {"mode": "enforce", "regions": ["us east 2"]})
    put_policy(account.clients, "one-hour", {"limits": {"max_run_minutes": 60}})
    account.project("nightly-etl")
    build = account.start_build(
        "nightly-etl", timedelta(hours=2), timedelta(minutes=1), datetime.now(UTC)
    )
    code = main(scan_args(account, "--json", "--service", "codebuild"))
    assert code == 1  # the broken settings are an error of the sweep
    rows = [json.loads(row) for row in capsys.readouterr().out.splitlines()]
    (decision,) = [r for r in rows if r.get("job_id") == build]
    assert (decision["verdict"], decision["outcome"]) == ("held", "held")
    assert account.build(build)["buildStatus"] == "IN_PROGRESS"
