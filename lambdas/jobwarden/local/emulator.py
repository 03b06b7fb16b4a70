"""Fills the gaps in moto, in one place, checked against botocore's service model.

moto serves most of what jobwarden calls. Where it lacks an operation, or cannot hold a job
in an active state, a `ServiceFill` answers instead. It hooks botocore's `before-call` event,
the same seam botocore's Stubber uses, so the client still serializes and validates every
request; the fill then validates the request parameters again and its own response against
the operation's input and output shapes, and raises on any mismatch. A call the fills do not
serve falls through to moto.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from botocore.awsrequest import AWSResponse
from botocore.exceptions import ParamValidationError
from botocore.handlers import BUILTIN_HANDLERS
from botocore.model import ListShape, MapShape, OperationModel, Shape, StructureShape
from botocore.validate import validate_parameters

ACCOUNT_ID = "123456789012"  # moto's default account
PARAMS_KEY = "jobwarden_emulator_params"

Handler = Callable[[dict[str, Any], str], dict[str, Any]]


class AwsError(Exception):
    """An error response, as the real service would send it."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


class ContractError(AssertionError):
    """A fill answered with something the real service could not send: a bug in the fill."""


class ServiceFill:
    """Some of one service's missing operations. Subclasses map operation names to handlers.

    Several fills may serve one botocore service (CodeBuild builds and batch builds); each
    has its own `name`, which tests and the demo use to reach its controls.
    """

    service: ClassVar[str]  # botocore service name, e.g. "codebuild"
    name: ClassVar[str] = ""  # defaults to `service`
    # Members the model marks required in a response shape but the real service leaves out
    # (shape name -> member names), each with its evidence where the fill sets it: the
    # response check accepts their absence there, and nowhere else.
    omitted_required: ClassVar[dict[str, frozenset[str]]] = {}

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def operations(self) -> dict[str, Handler]:
        raise NotImplementedError

    def now(self) -> datetime:
        return self.emulator.clock()


class Emulator:
    """Activate with `with Emulator() as emulator:` inside moto's `mock_aws()`.

    Only clients created while it is active see the fills (as with moto itself).
    """

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock or (lambda: datetime.now(UTC))
        self.fills: dict[str, ServiceFill] = {}
        self.calls: list[tuple[str, str]] = []

    def add(self, fill_type: type[ServiceFill]) -> ServiceFill:
        """Install a fill (again: a fresh one replaces the old, state and all)."""
        fill = fill_type(self)
        self.fills[fill_type.name or fill_type.service] = fill
        return fill

    def fill(self, name: str) -> Any:
        return self.fills[name]

    def _fill_for(self, service: str, operation: str) -> ServiceFill | None:
        for fill in self.fills.values():
            if fill.service == service and operation in fill.operations():
                return fill
        return None

    def __enter__(self) -> Emulator:
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.remove(self)

    def answer(self, model: OperationModel, params: dict[str, Any], region: str) -> Any:
        fill = self._fill_for(model.service_model.service_name, model.name)
        if fill is None:
            return None
        handler = fill.operations()[model.name]
        self.calls.append((model.service_model.service_name, model.name))
        if model.input_shape is not None:
            validate_parameters(params, model.input_shape)
            if (refused := refuse_enum_values(model, params)) is not None:
                return refused
        try:
            body = copy.deepcopy(handler(copy.deepcopy(params), region))
        except AwsError as error:
            return _error_response(model, error)
        if model.output_shape is not None:
            try:
                checked = _with_omitted(body, model.output_shape, fill.omitted_required)
                validate_parameters(checked, model.output_shape)
            except ParamValidationError as error:
                raise ContractError(f"{model.name} response breaks the model: {error}") from None
        metadata = {"HTTPStatusCode": 200, "RequestId": "emulated"}
        return AWSResponse(None, 200, {}, None), {**body, "ResponseMetadata": metadata}


def refuse_enum_values(model: OperationModel, params: dict[str, Any]) -> Any:
    """The service's refusal of a request member outside its enum, or None when all are in it.

    botocore's client checks types but not enum values; the services check them (a
    `retryType` of "RETRY" is refused, not taken as some retry). The error is the one every
    AWS API reference lists among its Common Errors, "ValidationException: The input fails to
    satisfy the constraints specified by an AWS service" (HTTP 400), with the message those
    services write for a constraint. **Assumption**: CodeBuild, Glue, Batch and Amplify answer
    this code for an enum; some may answer their own client error (Batch's ClientException,
    Amplify's BadRequestException) instead. Only requests are checked: responses carry values
    the model does not list (the CLI's retry-build-batch example shows phaseStatus RETRY and
    CLIENT_ERROR, outside StatusType).
    """
    if model.input_shape is None:
        return None
    bad = list(_outside_enum(params, model.input_shape, ""))
    if not bad:
        return None
    errors = "; ".join(
        f"Value '{value}' at '{path}' failed to satisfy constraint: "
        f"Member must satisfy enum value set: [{', '.join(allowed)}]"
        for path, value, allowed in bad
    )
    count = f"{len(bad)} validation error{'s' if len(bad) > 1 else ''} detected"
    return _error_response(model, AwsError("ValidationException", f"{count}: {errors}"))


def _outside_enum(value: Any, shape: Shape, path: str) -> Iterator[tuple[str, Any, list[str]]]:
    """(member path, value, allowed values) of every enum member whose value is not allowed."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, item in value.items():
            if key in shape.members:
                inner = f"{path}.{key}" if path else key
                yield from _outside_enum(item, shape.members[key], inner)
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, item in enumerate(value, 1):
            yield from _outside_enum(item, shape.member, f"{path}.{index}.member")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, item in value.items():
            yield from _outside_enum(item, shape.value, f"{path}.{key}")
    elif shape.type_name == "string" and getattr(shape, "enum", None) and value not in shape.enum:
        yield path, value, list(shape.enum)


# Stand-ins for an omitted required member while the response is checked, by shape type.
_STAND_INS: dict[str, Any] = {"long": 0, "integer": 0, "string": "", "boolean": False}


def _with_omitted(value: Any, shape: Shape, omitted: dict[str, frozenset[str]]) -> Any:
    """A copy of a response with a stand-in for each required member the service is known to
    omit, so that the model check passes there and only there."""
    if not omitted:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = shape.members
        checked = {
            key: _with_omitted(item, members[key], omitted) if key in members else item
            for key, item in value.items()
        }
        for name in omitted.get(shape.name, frozenset()) - checked.keys():
            checked[name] = _STAND_INS[members[name].type_name]
        return checked
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_with_omitted(item, shape.member, omitted) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {key: _with_omitted(item, shape.value, omitted) for key, item in value.items()}
    return value


def _error_response(model: OperationModel, error: AwsError) -> Any:
    modeled = {shape.name for shape in model.error_shapes}
    generic = {"ThrottlingException", "ValidationException", "AccessDeniedException"}
    if error.code not in modeled | generic:
        raise ContractError(f"{model.name} cannot return {error.code}; it declares {modeled}")
    parsed = {
        "Error": {"Code": error.code, "Message": error.message},
        "ResponseMetadata": {"HTTPStatusCode": error.status},
    }
    return AWSResponse(None, error.status, {}, None), parsed


_ACTIVE: list[Emulator] = []


def _remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if _ACTIVE:
        context[PARAMS_KEY] = copy.deepcopy(params)


def _answer(model: OperationModel, context: dict[str, Any], **_: Any) -> Any:
    if not _ACTIVE or PARAMS_KEY not in context:
        return None
    return _ACTIVE[-1].answer(model, context[PARAMS_KEY], context.get("client_region") or "")


BUILTIN_HANDLERS.append(("before-parameter-build", _remember_params))
BUILTIN_HANDLERS.append(("before-call", _answer))


def page(items: list[Any], token: str | None, size: int) -> tuple[list[Any], str | None]:
    """One page of `items` and the token of the next, as the real services page."""
    start = int(token) if token else 0
    if start < 0 or start > len(items):
        raise AwsError("InvalidInputException", f"invalid next token {token!r}")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


@contextmanager
def emulated_account(clock: Callable[[], datetime] | None = None) -> Iterator[Emulator]:
    """moto's account with every fill installed: what the demo and the tests run against."""
    from moto import mock_aws

    from jobwarden.local.amplify import AmplifyFill
    from jobwarden.local.batch import BatchFill
    from jobwarden.local.codebuild import CodeBuildFill
    from jobwarden.local.codebuild_batch import CodeBuildBatchFill
    from jobwarden.local.glue import GlueRunsFill

    with mock_aws(), Emulator(clock) as emulator:
        for fill in (CodeBuildFill, CodeBuildBatchFill, GlueRunsFill, BatchFill, AmplifyFill):
            emulator.add(fill)
        yield emulator
