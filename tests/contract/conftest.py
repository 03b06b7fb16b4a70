"""AWS-published responses, parsed as a real client parses them, fed to the adapters.

A sample is the JSON text an AWS CLI example (or documentation page) prints. `sample` runs it
through botocore's own response parser for the operation's protocol, so timestamps (epoch
seconds in the older CLI examples, ISO 8601 in the newer ones) become the datetimes a client
returns and members the model does not know are dropped, as on the wire. `ContractStubber`
queues those responses with botocore's Stubber, which checks each request's parameters.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape
from botocore.parsers import create_parser
from botocore.stub import Stubber
from botocore.validate import validate_parameters
from jobwarden.aws import Clients
from jobwarden.local.batch import BatchFill
from jobwarden.local.emulator import _with_omitted

SAMPLES = Path(__file__).parent / "samples"
REGION = "us-east-1"
# Members a sample leaves out although the model marks them required: the same declared
# exceptions the fills carry (Batch leaves JobDetail.startedAt out until a job runs; the CLI's
# describe-jobs example of a SUBMITTED job shows it).
OMITTED_REQUIRED = {"batch": BatchFill.omitted_required}


@cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def sample(service: str, operation: str, name: str) -> dict[str, Any]:
    """`samples/<name>.json` as a client's `operation` would return it."""
    model = service_model(service).operation_model(operation)
    body = (SAMPLES / f"{name}.json").read_bytes()
    # The CLI printed JSON; parse it with the service's JSON protocol (newer models list a
    # CBOR protocol first, which a client may prefer on the wire).
    protocols = model.metadata.get("protocols", [model.metadata["protocol"]])
    json_protocol = next((p for p in protocols if p in ("json", "rest-json")), None)
    if json_protocol is None:  # STS speaks XML; its sample holds only strings
        loaded: dict[str, Any] = json.loads(body)
        return loaded
    parser = create_parser(json_protocol)
    parsed: dict[str, Any] = parser.parse(
        {"status_code": 200, "headers": {}, "body": body}, model.output_shape
    )
    parsed.pop("ResponseMetadata", None)
    return parsed


def raw(name: str) -> Any:
    """The sample's JSON as published (to compare against what the parser kept)."""
    return json.loads((SAMPLES / f"{name}.json").read_text())


def _without_empty_lists(value: Any, shape: Shape) -> Any:
    """A copy without the empty lists the model says hold at least one item.

    The published responses send them (`"buildsNotFound": []` in batch-get-builds.rst,
    `"projectsNotFound": []` in batch-get-projects.rst) although the model's `min` is 1:
    services do not hold their answers to the model's length constraints."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {
            key: _without_empty_lists(item, shape.members[key]) if key in shape.members else item
            for key, item in value.items()
            if not (
                key in shape.members
                and isinstance(shape.members[key], ListShape)
                and item == []
                and shape.members[key].metadata.get("min", 0) > 0
            )
        }
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_without_empty_lists(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: _without_empty_lists(item, shape.value) for key, item in value.items()}
    return value


class ContractStubber(Stubber):
    """Stubber that holds responses to the model as AWS's published ones are: it accepts the
    fills' declared omissions of required members and the empty lists the samples carry."""

    def _validate_operation_response(self, operation_name: str, service_response: Any) -> None:
        service = self.client.meta.service_model.service_name
        shape = self.client.meta.service_model.operation_model(operation_name).output_shape
        if shape is None:
            super()._validate_operation_response(operation_name, service_response)
            return
        response = copy.copy(service_response)
        response.pop("ResponseMetadata", None)
        response = _without_empty_lists(response, shape)
        omitted = OMITTED_REQUIRED.get(service, {})
        validate_parameters(_with_omitted(response, shape, omitted), shape)


@pytest.fixture
def clients() -> Clients:
    return Clients(default_region=REGION)


@pytest.fixture
def stub(clients: Clients) -> Iterator[Any]:
    """`stub(service)`: an active ContractStubber on that service's client."""
    stubbers: dict[str, ContractStubber] = {}

    def get(service: str) -> ContractStubber:
        if service not in stubbers:
            stubbers[service] = ContractStubber(clients.client(service, REGION))
            stubbers[service].activate()
        return stubbers[service]

    yield get
    for stubber in stubbers.values():
        stubber.deactivate()
