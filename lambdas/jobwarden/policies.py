"""Policies and settings: JSON documents in SSM Parameter Store, validated field by field.

A document that does not parse or validate becomes a `Problem`; it is reported and skipped,
and the valid documents still apply. Nothing is ever stopped on the strength of a broken one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from jobwarden.bounds import (
    MAX_COST_USD,
    MAX_DIGEST_MINUTES,
    MAX_NOTIFY_TARGETS,
    MAX_PRICE_PER_HOUR,
    MAX_PRIORITY,
    MAX_RECONCILE_MINUTES,
    MAX_RETENTION_DAYS,
    MAX_RETRY_ATTEMPTS,
    MAX_STOP_WINDOW_MINUTES,
    MAX_STOPS,
    MAX_TAG_KEY_LENGTH,
    PRICE_FAMILIES,
    RESUBMIT_SERVICES,
    RETRY_TYPES,
    SERVICE_LIMITS,
    SNS_TOPIC_ARN,
    SUPERSEDE_SERVICES,
    is_known_region,
    known_regions,
    queue_limit,
    run_limit,
)
from jobwarden.model import TAG_TARGET, Action, Mode, Policy, Resubmit, Retry, Settings

DEFAULT_POLICY_PATH = "/jobwarden/policies/"
DEFAULT_SETTINGS_PARAMETER = "/jobwarden/settings"
CACHE_SECONDS = 300


class InvalidDocument(ValueError):
    """A policy or settings document with one message per bad field."""

    def __init__(self, name: str, messages: list[str]) -> None:
        self.name = name
        self.messages = messages
        super().__init__(f"{name}: " + "; ".join(messages))


@dataclass(frozen=True)
class Problem:
    """A document that was skipped, and why. `fingerprint` changes when the document does."""

    name: str
    messages: tuple[str, ...]
    fingerprint: str

    @property
    def reason(self) -> str:
        return f"document {self.name} is invalid and was skipped: " + "; ".join(self.messages)


@dataclass(frozen=True)
class Configuration:
    settings: Settings
    policies: tuple[Policy, ...]
    problems: tuple[Problem, ...] = field(default=())


class _Object(dict[str, Any]):
    """A JSON object that remembers the keys it was given more than once."""

    duplicates: tuple[str, ...] = ()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    result = _Object(pairs)
    keys = [key for key, _ in pairs]
    result.duplicates = tuple(dict.fromkeys(key for key in keys if keys.count(key) > 1))
    return result


def _finite(value: object) -> bool:
    """A JSON number that is neither NaN nor infinite (json reads both, and 1e999 as inf)."""
    return not isinstance(value, float) or math.isfinite(value)


class _Fields:
    """Reads typed fields from a JSON object, collecting a message per bad one."""

    def __init__(self, data: Mapping[str, Any], prefix: str, messages: list[str]) -> None:
        self.data = data
        self.prefix = prefix
        self.messages = messages
        for key in getattr(data, "duplicates", ()):
            self.complain(key, "given more than once; keep one")

    def complain(self, key: str, message: str) -> None:
        self.messages.append(f"{self.prefix}{key}: {message}")

    def unknown(self, known: Iterable[str]) -> None:
        allowed = sorted(known)
        for key in self.data:
            if key not in allowed:
                self.complain(key, f"unknown field (expected one of: {', '.join(allowed)})")

    def number(self, key: str, maximum: float, unit: str) -> float | None:
        """A finite number above 0 and at most `maximum`, or None when absent."""
        if key not in self.data:
            return None
        value = self.data[key]
        if value is None:
            self.complain(key, "must be a number; omit the field for no limit")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            self.complain(key, f"must be a number, got {_show(value)}")
        elif not _finite(value):
            self.complain(key, f"must be a finite number, got {_show(value)}")
        elif value <= 0:
            self.complain(key, f"must be greater than 0, got {_show(value)}")
        elif value > maximum:
            self.complain(key, f"must be at most {maximum:g}{unit}, got {_show(value)}")
        else:
            return float(value)
        return None

    def integer(self, key: str, default: int, minimum: int, maximum: int) -> int:
        value = self.data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
            self.complain(
                key, f"must be a whole number from {minimum} to {maximum}, got {_show(value)}"
            )
            return default
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            self.complain(key, f"must be true or false, got {_show(value)}")
            return default
        return value

    def text(self, key: str, default: str, choices: Iterable[str] = ()) -> str:
        value = self.data.get(key, default)
        options = tuple(choices)
        if not isinstance(value, str) or not value.strip():
            self.complain(key, f"must be a non-empty string, got {_show(value)}")
            return default
        if options and value not in options:
            self.complain(key, f"must be one of {', '.join(options)}, got {_show(value)}")
            return default
        return value

    def description(self, key: str) -> str:
        value = self.data.get(key, "")
        if not isinstance(value, str):
            self.complain(key, f"must be a string, got {_show(value)}")
            return ""
        return value

    def strings(self, key: str, default: tuple[str, ...], if_empty: str = "") -> tuple[str, ...]:
        """A list of non-empty strings. `if_empty`, when given, rejects an empty list and says
        what to write instead; without it an empty list is the default's meaning."""
        value = self.data.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            self.complain(key, f"must be a list of non-empty strings, got {_show(value)}")
            return default
        if not value and if_empty and key in self.data:
            self.complain(key, f"an empty list is ambiguous; {if_empty}")
            return default
        return tuple(value)

    def string_map(self, key: str) -> dict[str, str]:
        value = self.data.get(key, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and k and isinstance(v, str) for k, v in value.items()
        ):
            self.complain(key, f"must be an object of string values, got {_show(value)}")
            return {}
        for name in (k for k, v in value.items() if not v):
            self.complain(
                f"{key}.{name}", 'an empty value is ambiguous; write "*" to accept any value'
            )
        return dict(value)

    def prices(self, key: str) -> dict[str, float]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self.complain(key, f"must be an object of prices, got {_show(value)}")
            return {}
        prices = _Fields(value, f"{self.prefix}{key}.", self.messages)
        found = {}
        for name in value:
            if not isinstance(name, str) or name.split(":", 1)[0] not in PRICE_FAMILIES:
                prices.complain(
                    name, f"unknown price key (keys start with {', '.join(PRICE_FAMILIES)}:)"
                )
            elif (price := prices.number(name, MAX_PRICE_PER_HOUR, " USD an hour")) is not None:
                found[name] = price
        return found

    def section(self, key: str) -> _Fields:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            self.complain(key, f"must be an object, got {_show(value)}")
            value = {}
        return _Fields(value, f"{self.prefix}{key}.", self.messages)


def _show(value: object) -> str:
    """A value as a message quotes it: short, whatever it is."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_object(name: str, document: str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(document, str):
        try:
            document = json.loads(document, object_pairs_hook=_object_pairs)
        except json.JSONDecodeError as error:
            raise InvalidDocument(name, [f"not valid JSON: {error}"]) from None
        except (ValueError, RecursionError) as error:  # 4300+ digit numbers, deep nesting
            raise InvalidDocument(name, [f"cannot be read: {_show(str(error))}"]) from None
    if not isinstance(document, Mapping):
        raise InvalidDocument(name, ["must be a JSON object"])
    return document


LIMIT_FIELDS = ("max_cost_usd", "max_queue_minutes", "max_run_minutes")
BY_REASON = "max_queue_minutes_by_reason"


def parse_policy(
    name: str, document: str | Mapping[str, Any], known_services: Iterable[str]
) -> Policy:
    data = _as_object(name, document)
    messages: list[str] = []
    known = sorted(known_services)
    top = _Fields(data, "", messages)
    top.unknown(
        (
            "description",
            "match",
            "limits",
            "action",
            "priority",
            "retry",
            "warn_at",
            "notify",
            "cancel_superseded",
            "resubmit",
            "tests",
        )
    )
    match = top.section("match")
    match.unknown(("services", "names", "tags"))
    services = match.strings(
        "services", (), "omit the field to cover every service, or list them: " + ", ".join(known)
    )
    unknown = [repr(s) for s in services if s not in known]
    if unknown:
        match.complain("services", f"unknown {', '.join(unknown)} (known: {', '.join(known)})")
    covered = [s for s in services if s in known] or known
    limits = top.section("limits")
    limits.unknown((*LIMIT_FIELDS, BY_REASON))
    policy = Policy(
        name=name,
        description=top.description("description"),
        services=services,
        names=match.strings("names", ("*",), 'omit the field (or write ["*"]) to match every name'),
        tags=match.string_map("tags"),
        max_run_minutes=limits.number("max_run_minutes", run_limit(covered), _minutes(covered)),
        max_queue_minutes=limits.number(
            "max_queue_minutes", queue_limit(covered), _minutes(covered, "wait")
        ),
        max_cost_usd=limits.number("max_cost_usd", MAX_COST_USD, " USD"),
        action=Action(top.text("action", Action.STOP, [a.value for a in Action])),
        priority=top.integer("priority", 100, 0, MAX_PRIORITY),
        retry=_parse_retry(top, services) if "retry" in data else None,
        warn_at=_parse_warn_at(top),
        notify=_parse_notify(top),
        cancel_superseded=_parse_superseded(top, services),
        max_queue_minutes_by_reason=_parse_by_reason(limits, queue_limit(covered)),
        resubmit=_parse_resubmit(top, services) if "resubmit" in data else None,
    )
    if (
        isinstance(data.get("limits", {}), dict)
        and not any(field in limits.data for field in (*LIMIT_FIELDS, BY_REASON))
        and data.get("cancel_superseded") is not True
    ):
        top.complain(
            "limits",
            f"set at least one of {', '.join(LIMIT_FIELDS)}, {BY_REASON} (or "
            "cancel_superseded): a policy without limits stops "
            "nothing, yet governs every job it matches in place of the other policies; to "
            "leave jobs alone, tag them with the settings' exempt_tag",
        )
    if policy.resubmit and not (policy.max_queue_minutes_by_reason or policy.max_queue_minutes):
        top.complain(
            "resubmit",
            f"a resubmission follows a queue limit: set limits.{BY_REASON} (or "
            "limits.max_queue_minutes) for the reasons it resubmits on",
        )
    if "tests" in data:
        _parse_cases(top, known)
    if messages:
        raise InvalidDocument(name, messages)
    return policy


def _parse_warn_at(top: _Fields) -> float | None:
    """A share of each limit, strictly between 0 and 1; only a stop policy warns (a
    notify-only policy's alert at the limit is already the warning)."""
    if "warn_at" not in top.data:
        return None
    value = top.data["warn_at"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
        top.complain("warn_at", f"must be a number between 0 and 1, got {_show(value)}")
        return None
    if not 0 < value < 1:
        top.complain(
            "warn_at",
            f"must be between 0 and 1 (a share of each limit, e.g. 0.8), got {_show(value)}",
        )
        return None
    if top.data.get("action", Action.STOP) == Action.NOTIFY:
        top.complain(
            "warn_at",
            "only a stop policy warns before its limit; a notify policy's alert is the warning",
        )
        return None
    return float(value)


def _parse_notify(top: _Fields) -> tuple[str, ...]:
    """SNS standard topic ARNs and `tag:<key>` targets, each once, at most a handful."""
    targets = top.strings("notify", (), "omit the field to alert only the platform topic")
    problems = []
    for target in dict.fromkeys(targets):
        if target.startswith(TAG_TARGET):
            key = target.removeprefix(TAG_TARGET)
            if not key.strip() or len(key) > MAX_TAG_KEY_LENGTH:
                problems.append(
                    f"{_show(target)} must name a tag key of 1 to {MAX_TAG_KEY_LENGTH} characters"
                )
        elif target.endswith(".fifo") and target.startswith("arn:"):
            problems.append(f"{_show(target)} is a FIFO topic; alerts go to standard topics")
        elif not SNS_TOPIC_ARN.fullmatch(target):
            problems.append(
                f"{_show(target)} is neither an SNS topic ARN "
                "(arn:aws:sns:<region>:<account>:<name>) nor a job tag (tag:<key>, e.g. tag:team)"
            )
        if targets.count(target) > 1:
            problems.append(f"{_show(target)} is listed more than once")
    if len(targets) > MAX_NOTIFY_TARGETS:
        problems.append(f"at most {MAX_NOTIFY_TARGETS} targets; subscribe more to one topic")
    if problems:
        top.complain("notify", "; ".join(problems))
        return ()
    return targets


@dataclass(frozen=True)
class Case:
    """One test case a policy document carries (`tests`): a job as it stands at the test's
    fixed clock, and the verdict (and, optionally, the governing policy) expected. The sweeps
    ignore them; `jobwarden policy test` runs them."""

    document: str
    name: str
    service: str
    job_name: str
    tags: Mapping[str, str]
    queued_minutes: float
    run_minutes: float | None  # None: still queued
    cost_basis: Mapping[str, float]
    expect: str
    expect_policy: str | None = None


CASE_VERDICTS = ("ok", "exempt", "stop", "notify", "held")
CASE_FIELDS = ("name", "job", "expect", "expect_policy")
CASE_JOB_FIELDS = ("service", "name", "tags", "queued_minutes", "run_minutes", "cost_basis")


def policy_cases(
    name: str, document: str | Mapping[str, Any], known_services: Iterable[str]
) -> tuple[Case, ...]:
    """The test cases of a document; raises InvalidDocument as `parse_policy` does."""
    data = _as_object(name, document)
    messages: list[str] = []
    cases = _parse_cases(_Fields(data, "", messages), sorted(known_services), name)
    if messages:
        raise InvalidDocument(name, messages)
    return cases


def _parse_cases(top: _Fields, known: list[str], document: str = "") -> tuple[Case, ...]:
    value = top.data.get("tests", [])
    if not isinstance(value, list) or not value:
        top.complain("tests", "must be a non-empty list of test cases; omit it for none")
        return ()
    cases = []
    for n, item in enumerate(value):
        if not isinstance(item, dict):
            top.complain(f"tests[{n}]", f"must be an object, got {_show(item)}")
            continue
        case = _Fields(item, f"{top.prefix}tests[{n}].", top.messages)
        case.unknown(CASE_FIELDS)
        job = case.section("job")
        job.unknown(CASE_JOB_FIELDS)
        service = job.text("service", known[0] if known else "", known)
        expect_policy = case.data.get("expect_policy")
        if expect_policy is not None and (not isinstance(expect_policy, str) or not expect_policy):
            case.complain("expect_policy", f"must be a policy's name, got {_show(expect_policy)}")
            expect_policy = None
        cases.append(
            Case(
                document=document,
                name=case.text("name", f"case {n + 1}"),
                service=service,
                job_name=job.text("name", "job"),
                tags=job.string_map("tags"),
                queued_minutes=_minutes_at_least_zero(job, "queued_minutes") or 0.0,
                run_minutes=_minutes_at_least_zero(job, "run_minutes"),
                cost_basis=job.prices("cost_basis"),
                expect=case.text("expect", "ok", CASE_VERDICTS),
                expect_policy=expect_policy,
            )
        )
    return tuple(cases)


def _minutes_at_least_zero(fields: _Fields, key: str) -> float | None:
    """A duration of a test case's job: 0 allowed (just started), at most a year."""
    value = fields.data.get(key)
    if value == 0 and not isinstance(value, bool):
        return 0.0
    return fields.number(key, 366 * 24 * 60, " minutes")


def _minutes(services: Iterable[str], verb: str = "run") -> str:
    """The unit of a time limit's maximum, and where that maximum comes from."""
    named = sorted(s for s in services if s in SERVICE_LIMITS)
    return f" minutes (the longest {'/'.join(named) or 'any'} job can {verb})"


def _parse_retry(top: _Fields, services: tuple[str, ...]) -> Retry | None:
    """A retry is valid only for services whose retry API takes its type."""
    retry = top.section("retry")
    retry.unknown(("type", "max_attempts"))
    attempts = retry.integer("max_attempts", 1, 1, MAX_RETRY_ATTEMPTS)
    how = "; ".join(f"{s}: {' or '.join(ts)}" for s, ts in sorted(RETRY_TYPES.items()))
    kind = retry.data.get("type")
    if not services:
        top.complain(
            "retry",
            "list the services to retry in match.services; only some can retry, each with "
            f"its own types ({how})",
        )
        return None
    unfit = [s for s in services if kind not in RETRY_TYPES.get(s, ())]
    if unfit:
        retry.complain(
            "type",
            f"{_show(kind)} cannot retry {', '.join(unfit)} jobs ({how}); write one policy per "
            "service, or drop retry",
        )
        return None
    return Retry(type=str(kind), max_attempts=attempts)


def _parse_superseded(top: _Fields, services: tuple[str, ...]) -> bool:
    """Only services whose runs say which branch they build can be superseded."""
    cancel = top.boolean("cancel_superseded", False)
    unfit = [s for s in services if s not in SUPERSEDE_SERVICES]
    if cancel and unfit:
        top.complain(
            "cancel_superseded",
            f"{', '.join(unfit)} jobs have no branch, so no run supersedes another (only "
            f"{', '.join(SUPERSEDE_SERVICES)}); write one policy per service, or drop it",
        )
        return False
    return cancel


def _parse_by_reason(limits: _Fields, maximum: int) -> tuple[tuple[str, float], ...]:
    """Reason glob -> minutes; 0 is allowed here (a hopeless reason: stop at once)."""
    if BY_REASON not in limits.data:
        return ()
    section = limits.section(BY_REASON)
    if isinstance(limits.data[BY_REASON], dict) and not section.data:
        limits.complain(BY_REASON, 'name at least one reason, e.g. {"MISCONFIGURATION:*": 0}')
    found = []
    for pattern, value in section.data.items():
        if not isinstance(pattern, str) or not pattern.strip():
            section.complain(repr(pattern), "a reason must be a non-empty glob")
        elif isinstance(value, bool) or not isinstance(value, int | float) or not _finite(value):
            section.complain(pattern, f"must be a number of minutes, got {_show(value)}")
        elif not 0 <= value <= maximum:
            section.complain(pattern, f"must be from 0 (stop at once) to {maximum}, got {value}")
        else:
            found.append((pattern, float(value)))
    return tuple(found)


def _parse_resubmit(top: _Fields, services: tuple[str, ...]) -> Resubmit | None:
    """Only Batch submits a job again elsewhere; the fallback queue is a name or an ARN."""
    resubmit = top.section("resubmit")
    resubmit.unknown(("job_queue", "on_reasons"))
    if not services or any(s not in RESUBMIT_SERVICES for s in services):
        top.complain(
            "resubmit",
            f"only {', '.join(RESUBMIT_SERVICES)} jobs can be resubmitted: set match.services "
            f"to {list(RESUBMIT_SERVICES)}",
        )
        return None
    queue = resubmit.text("job_queue", "")
    if queue and any(char.isspace() for char in queue):
        resubmit.complain("job_queue", f"must be a job queue name or ARN, got {_show(queue)}")
    reasons = resubmit.strings("on_reasons", ("CAPACITY:*",), 'omit it for ["CAPACITY:*"]')
    return Resubmit(job_queue=queue, on_reasons=reasons) if queue else None


SETTINGS_FIELDS = (
    "mode",
    "exempt_tag",
    "max_stops_per_window",
    "max_stops_per_sweep",
    "stop_window_minutes",
    "kill_switch",
    "regions",
    "prices",
    "ledger_retention_days",
    "reconcile_every_minutes",
    "digest_minutes",
)


def parse_settings(document: str | Mapping[str, Any], name: str = "settings") -> Settings:
    data = _as_object(name, document)
    messages: list[str] = []
    top = _Fields(data, "", messages)
    top.unknown(SETTINGS_FIELDS)
    defaults = Settings()
    settings = Settings(
        mode=Mode(top.text("mode", defaults.mode, [m.value for m in Mode])),
        exempt_tag=top.text("exempt_tag", defaults.exempt_tag),
        # `max_stops_per_sweep`, the name before the budget spanned sweeps, still reads.
        max_stops_per_window=top.integer(
            "max_stops_per_window",
            top.integer("max_stops_per_sweep", defaults.max_stops_per_window, 0, MAX_STOPS),
            0,
            MAX_STOPS,
        ),
        stop_window_minutes=top.integer(
            "stop_window_minutes", defaults.stop_window_minutes, 1, MAX_STOP_WINDOW_MINUTES
        ),
        kill_switch=top.boolean("kill_switch", defaults.kill_switch),
        regions=_regions(top),
        prices=top.prices("prices"),
        ledger_retention_days=top.integer(
            "ledger_retention_days", defaults.ledger_retention_days, 1, MAX_RETENTION_DAYS
        ),
        reconcile_every_minutes=top.integer(
            "reconcile_every_minutes", defaults.reconcile_every_minutes, 1, MAX_RECONCILE_MINUTES
        ),
        digest_minutes=top.integer(
            "digest_minutes", defaults.digest_minutes, 0, MAX_DIGEST_MINUTES
        ),
    )
    if messages:
        raise InvalidDocument(name, messages)
    return settings


def _regions(top: _Fields) -> tuple[str, ...]:
    """Regions botocore knows, each once; [] (as omitting it) means the function's own."""
    regions = top.strings("regions", ())
    problems = []
    for region in dict.fromkeys(regions):
        if not is_known_region(region):
            close = difflib.get_close_matches(region, sorted(known_regions()), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{_show(region)} is not a region botocore knows{hint}")
        elif regions.count(region) > 1:
            problems.append(f"{region} is listed more than once")
    if problems:
        top.complain("regions", "; ".join(problems))
    return regions


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def settings_of(document: str | None, name: str) -> tuple[Settings, Problem | None]:
    """The settings a document gives: the defaults when there is none, and, when it is
    broken, the defaults with the kill switch on (and the problem to report)."""
    if document is None:
        return Settings(), None
    try:
        return parse_settings(document, name), None
    except InvalidDocument as error:
        problem = Problem(error.name, tuple(error.messages), fingerprint(document))
        return replace(Settings(), kill_switch=True), problem


def build_configuration(
    settings_document: str | None,
    policy_documents: Mapping[str, str],
    known_services: Iterable[str],
    settings_name: str = DEFAULT_SETTINGS_PARAMETER,
) -> Configuration:
    """Validate every document; the broken ones become problems, never policies.

    Broken settings fall back to the defaults with the kill switch on, so nothing is stopped
    until someone fixes them.
    """
    known = tuple(known_services)
    settings, problem = settings_of(settings_document, settings_name)
    problems = [problem] if problem else []
    policies = []
    for name in sorted(policy_documents):
        text = policy_documents[name]
        try:
            policies.append(parse_policy(name, text, known))
        except InvalidDocument as error:
            problems.append(Problem(error.name, tuple(error.messages), fingerprint(text)))
    return Configuration(settings, tuple(policies), tuple(problems))


class ParameterStore:
    """Reads the documents from SSM through Powertools: policies cached for `max_age`
    seconds, the settings fresh on every read, so a kill switch acts on the next one."""

    def __init__(
        self,
        ssm_client: Any,
        policy_path: str = DEFAULT_POLICY_PATH,
        settings_parameter: str = DEFAULT_SETTINGS_PARAMETER,
        max_age: int = CACHE_SECONDS,
    ) -> None:
        self._provider = SSMProvider(boto3_client=ssm_client)
        self._client = ssm_client
        self.policy_path = policy_path
        self.settings_parameter = settings_parameter
        self.max_age = max_age

    def load(self, known_services: Iterable[str]) -> Configuration:
        documents = self._provider.get_multiple(
            self.policy_path, max_age=self.max_age, recursive=True
        )
        return build_configuration(
            self._settings_text(),
            {str(name): str(value) for name, value in documents.items()},
            known_services,
            self.settings_parameter,
        )

    def read_settings(self) -> Settings:
        """The settings as they are now (not cached), with the same fallbacks as `load`."""
        return settings_of(self._settings_text(), self.settings_parameter)[0]

    def _settings_text(self) -> str | None:
        try:
            text = self._provider.get(self.settings_parameter, force_fetch=True)
        except GetParameterError as error:
            if "ParameterNotFound" not in str(error):
                raise
            return None
        return None if text is None else str(text)

    def push(self, name: str, document: str, overwrite: bool = True) -> str:
        """Write one policy document; returns the parameter name."""
        parameter = self.policy_path.rstrip("/") + "/" + name
        self._client.put_parameter(
            Name=parameter, Value=document, Type="String", Overwrite=overwrite
        )
        return parameter

    def put_settings(self, document: str) -> None:
        self._client.put_parameter(
            Name=self.settings_parameter, Value=document, Type="String", Overwrite=True
        )
