"""Fills the gaps in moto, in one place, checked against botocore's service model.

moto serves most of what jobwarden calls. Where it lacks an operation, or cannot hold a job
in an active state, a `ServiceFill` answers instead. It answers on the wire, at botocore's
`before-send` event (where moto answers too): the client has serialized and signed the request,
and the fill's answer is serialized as the service's protocol would send it (JSON, with
timestamps as epoch seconds and errors as `__type`) and parsed by botocore's own parser. So
botocore's retry handler sees a fill's throttling or 500 exactly as it would a real service's,
and a fault injected on the wire acts on fills and moto alike. The fill validates the request
parameters again and its own response against the operation's input and output shapes, and
raises on any mismatch. A call the fills do not serve falls through to moto.
"""

from __future__ import annotations

import base64
import copy
import json
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
        return _wire(200, _to_wire(body, model.output_shape), {})


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


def _error_response(model: OperationModel, error: AwsError) -> AWSResponse:
    modeled = {shape.name for shape in model.error_shapes}
    generic = {"ThrottlingException", "ValidationException", "AccessDeniedException"}
    if error.code not in modeled | generic:
        raise ContractError(f"{model.name} cannot return {error.code}; it declares {modeled}")
    # JSON protocols name the error in the body's __type (json) or this header (rest-json).
    body = {"__type": error.code, "message": error.message}
    return _wire(error.status, body, {"x-amzn-errortype": error.code})


class RawBody:
    """A raw HTTP body botocore can read (for answers made up on the wire)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data

    def read(self, *_: Any) -> bytes:
        return self._data


def query_error(url: str, status: int, code: str) -> AWSResponse:
    """An error as a query-protocol service (SNS) sends it: XML."""
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}"
        "</Message></Error><RequestId>emulated</RequestId></ErrorResponse>"
    ).encode()
    return AWSResponse(url, status, {"content-type": "text/xml"}, RawBody(body))


def _wire(status: int, body: dict[str, Any], headers: dict[str, str]) -> AWSResponse:
    data = json.dumps(body).encode()
    headers = {"content-type": "application/json", "x-amzn-requestid": "emulated", **headers}
    return AWSResponse("https://emulated.invalid/", status, headers, RawBody(data))


def _to_wire(value: Any, shape: Shape | None) -> Any:
    """A response as a JSON protocol carries it: timestamps as epoch seconds, blobs base64."""
    if shape is None:
        return value
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        members = shape.members
        return {k: _to_wire(v, members.get(k)) for k, v in value.items()}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_to_wire(item, shape.member) for item in value]
    if isinstance(shape, MapShape) and isinstance(value, dict):
        return {k: _to_wire(v, shape.value) for k, v in value.items()}
    if shape.type_name == "timestamp" and isinstance(value, datetime):
        return value.timestamp()
    if shape.type_name == "blob" and isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


_ACTIVE: list[Emulator] = []


def _remember_params(
    params: dict[str, Any], model: OperationModel, context: dict[str, Any], **_: Any
) -> None:
    """Keep the call's parameters beside its request: the wire answer needs them unserialized."""
    if _ACTIVE:
        context[PARAMS_KEY] = (model, copy.deepcopy(params))


def answer_request(request: Any, **_: Any) -> AWSResponse | None:
    """The fills' answer to a request on the wire, or None where no fill serves it."""
    context = getattr(request, "context", None) or {}
    if not _ACTIVE or PARAMS_KEY not in context:
        return None
    model, params = context[PARAMS_KEY]
    answered: AWSResponse | None = _ACTIVE[-1].answer(
        model, params, context.get("client_region") or ""
    )
    return answered


# A fault on the wire: (request, event name, deliver) -> a response, or None to pass. `deliver`
# sends the request on (to the fills or moto) and returns the response, so a fault can let a
# call be applied and then lose or replace its answer.
Fault = Callable[[Any, str, Callable[[Any, str], Any]], Any]


class EmulatedWire:
    """The one `before-send` handler of the emulated account: injected faults first, then the
    fills answer what they serve, moto the rest. botocore calls every `before-send` handler,
    so moto's own stubber is replaced by this one rather than run beside it (it would execute
    the call a second time)."""

    def __init__(self, moto_stubber: Any) -> None:
        self.moto = moto_stubber
        self.faults: list[Fault] = []

    def __call__(self, request: Any, event_name: str = "", **kwargs: Any) -> Any:
        for fault in list(self.faults):
            answered = fault(request, event_name, self.deliver)
            if answered is not None:
                return answered
        return self.deliver(request, event_name)

    @contextmanager
    def refusing(self, operation: str, code: str, status: int = 400) -> Iterator[None]:
        """Every call to `operation` of a query-protocol service ("sns.Publish") answered with
        the XML error `code` while inside: an outage the demo can show (a non-retryable one,
        so nothing waits on botocore's backoff)."""

        def refuse(request: Any, event_name: str, deliver: Callable[[Any, str], Any]) -> Any:
            if not event_name.endswith(operation):
                return None
            return query_error(request.url, status, code)

        self.faults.append(refuse)
        try:
            yield
        finally:
            self.faults.remove(refuse)

    def deliver(self, request: Any, event_name: str) -> Any:
        answered = answer_request(request)
        if answered is not None:
            return answered
        return self.moto(event_name=event_name, request=request)


def _install_wire() -> EmulatedWire:
    from moto.core.models import botocore_stubber

    wire = EmulatedWire(botocore_stubber)
    for position, handler in enumerate(BUILTIN_HANDLERS):
        if handler[0] == "before-send" and handler[1] is botocore_stubber:
            BUILTIN_HANDLERS[position] = ("before-send", wire)
    return wire


BUILTIN_HANDLERS.append(("before-parameter-build", _remember_params))
WIRE = _install_wire()


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
