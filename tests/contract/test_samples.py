"""Every sample names its source, and every operation an adapter calls has a sample."""

from __future__ import annotations

import re

import jobwarden.services.amplify
import jobwarden.services.batch
import jobwarden.services.codebuild
import jobwarden.services.codebuild_batch
import jobwarden.services.glue  # noqa: F401 - importing registers the adapters
from jobwarden.services import REGISTRY

from tests.contract.conftest import SAMPLES, raw

ROW = re.compile(r"^\| `(?P<file>[^`]+)` \| (?P<operations>[^|]+) \| (?P<source>[^|]+) \|")


def rows() -> dict[str, tuple[set[str], str]]:
    found = {}
    for line in (SAMPLES / "README.md").read_text().splitlines():
        match = ROW.match(line)
        if match:
            operations = {o.strip() for o in match["operations"].split(",")}
            found[match["file"]] = (operations, match["source"].strip())
    return found


def test_every_sample_file_has_a_row_naming_its_source():
    files = {str(p.relative_to(SAMPLES)) for p in SAMPLES.rglob("*.json")}
    listed = rows()
    assert files == set(listed)
    for name, (_, source) in listed.items():
        assert source, name
        raw(name.removesuffix(".json"))  # and parses as JSON


def test_every_operation_the_adapters_declare_is_answered_by_a_sample():
    covered = set().union(*(operations for operations, _ in rows().values()))
    declared = set().union(*(adapter.iam_actions() for adapter in REGISTRY.values()))
    assert {"codebuild:StopBuild", "glue:BatchStopJobRun", "amplify:StartJob"} <= declared
    assert declared - covered == set()
