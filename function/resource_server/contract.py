"""2. The property contract: every rule Cognito enforces, checked before any write.

All problems are reported at once, most useful words first: crhelper keeps only
~240 characters of a Reason, and the console shows nothing else.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import NamedTuple

from .event import is_utf8
from .failure import REASON_ROOM, RequestFailed

# CloudFormation adds these to every request; they are not ours to judge.
CLOUDFORMATION_KEYS = ("ServiceToken", "ServiceTimeout")
REQUIRED_KEYS = ("UserPoolId", "Identifier", "Name")
OPTIONAL_KEYS = ("Scopes", "AdoptExisting", "Revision")
# CloudFormation delivers a boolean as a string; a direct invoke may send a real one.
BOOLEANS = {"true": True, "false": False}
SCOPE_KEYS = ("ScopeName", "ScopeDescription")
MAX_SCOPES = 100


class Rule(NamedTuple):
    """One field's length and pattern, from the Cognito API reference."""

    max_length: int
    pattern: re.Pattern[str]
    says: str

    def problem(self, value: object) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, not {_kind(value)}"
        if not value:
            return "must not be empty"
        if len(value) > self.max_length:
            return f"is {len(value)} characters, over {self.max_length}"
        if not self.pattern.fullmatch(value):
            return self.says + self._first_refused(value)
        return None

    def _first_refused(self, value: str) -> str:
        """For a pattern that is one character class, which character it refuses first."""
        source = self.pattern.pattern
        if not (source.startswith("[") and source.endswith("]+") and source.count("[") == 1):
            return ""
        one = re.compile(source[:-1], self.pattern.flags)
        refused = next((c for c in value if not one.fullmatch(c)), None)
        return f" (not {refused!r})" if refused is not None else ""


# Cognito's patterns are Java regexes, where \w and \s are ASCII-only.
USER_POOL_ID = Rule(55, re.compile(r"[\w-]+_[0-9a-zA-Z]+", re.ASCII), "must look like us-east-1_AbC123")
IDENTIFIER = Rule(
    256,
    re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+"),
    'must be printable ASCII without space, " or \\',
)
NAME = Rule(256, re.compile(r"[\w\s+=,.@-]+", re.ASCII), "may hold only letters, digits, spaces and _+=,.@-")
SCOPE_NAME = Rule(
    256,
    re.compile(r"[\x21\x23-\x2E\x30-\x5B\x5D-\x7E]+"),
    'must be printable ASCII without space, ", \\ or /',
)
SCOPE_DESCRIPTION = Rule(256, re.compile(r".+", re.DOTALL), "must not be empty")
# Not Cognito's: any text. Changing it makes CloudFormation send an Update with the same state,
# which converges the server to it: how a stack repairs drift (docs/operating.md, Drift).
REVISION = Rule(256, re.compile(r".+", re.DOTALL), "must not be empty")
POOL_ARN = re.compile(r"arn:[\w-]+:cognito-idp:[\w-]+:\d{12}:userpool/(?P<id>.+)", re.ASCII)


class ServerId(NamedTuple):
    """Where a resource server lives. Its text form is the physical id, as in Terraform's import id."""

    user_pool_id: str
    identifier: str

    def __str__(self) -> str:
        return f"{self.user_pool_id}|{self.identifier}"

    @classmethod
    def parse(cls, physical_id: object) -> ServerId | None:
        """The server a physical id names, or None when this provider did not make the id."""
        if not isinstance(physical_id, str):
            return None
        # A pool id can't hold "|", so the first one is the separator.
        user_pool_id, bar, identifier = physical_id.partition("|")
        if not bar or USER_POOL_ID.problem(user_pool_id) or IDENTIFIER.problem(identifier):
            return None
        return cls(user_pool_id, identifier)


class Scope(NamedTuple):
    name: str
    description: str


class ResourceServer(NamedTuple):
    """The state a resource asks Cognito to hold."""

    user_pool_id: str
    identifier: str
    name: str
    scopes: tuple[Scope, ...] = ()

    @property
    def id(self) -> ServerId:
        return ServerId(self.user_pool_id, self.identifier)

    @property
    def scope_strings(self) -> tuple[str, ...]:
        """The scopes as a token carries them."""
        return tuple(f"{self.identifier}/{scope.name}" for scope in self.scopes)

    def holds_same_state(self, other: ResourceServer) -> bool:
        """True when Cognito would gain nothing by an update; scope order carries no meaning to it."""
        return (
            self.id == other.id
            and self.name == other.name
            and sorted((s.name, s.description) for s in self.scopes)
            == sorted((s.name, s.description) for s in other.scopes)
        )


class InvalidProperties(RequestFailed):
    def __init__(self, problems: list[str], logged_only: list[str] | None = None) -> None:
        super().__init__(_reason(problems), details=(*problems, *(logged_only or [])))


def parse(properties: object) -> ResourceServer:
    """Read ResourceProperties into a ResourceServer, or raise InvalidProperties naming every problem."""
    if not isinstance(properties, Mapping):
        raise InvalidProperties([f"ResourceProperties must be a map with {', '.join(REQUIRED_KEYS)}"])
    if not_utf8 := list(_not_utf8(properties, "ResourceProperties")):
        # Nothing else is judged: a problem that quoted such text could not be answered.
        raise InvalidProperties([f"{where} holds text that is not valid UTF-8" for where in not_utf8])

    problems = [f"{key} is required" for key in REQUIRED_KEYS if key not in properties]
    known = (*REQUIRED_KEYS, *OPTIONAL_KEYS, *CLOUDFORMATION_KEYS)
    logged_only = []
    if unknown := [f"{key!s:.40}" for key in properties if key not in known]:
        # One problem for them all, so the expected names are said once; the log lists every one.
        named = ", ".join(unknown[:3]) + (f" and {len(unknown) - 3} more" if len(unknown) > 3 else "")
        are = "is not a property" if len(unknown) == 1 else "are not properties"
        problems.append(f"{named} {are} (expected {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)})")
        if len(unknown) > 3:
            logged_only.append(f"not properties: {', '.join(unknown)}")
    pool = properties.get("UserPoolId")
    if arn := POOL_ARN.fullmatch(pool) if isinstance(pool, str) else None:
        problems.append(f"UserPoolId is a user pool's ARN: use the pool id, {arn['id']:.55}")
    for key, rule in (("UserPoolId", USER_POOL_ID), ("Identifier", IDENTIFIER), ("Name", NAME), ("Revision", REVISION)):
        if key in properties and not (key == "UserPoolId" and arn) and (problem := rule.problem(properties[key])):
            problems.append(f"{key} {problem}")

    scopes, scope_problems = _parse_scopes(properties.get("Scopes", []))
    problems += scope_problems
    if _boolean(adopt := properties.get("AdoptExisting", "false")) is None:
        problems.append(f'AdoptExisting must be "true" or "false", not {_shown(adopt)}')
    if problems:
        raise InvalidProperties(problems, logged_only)
    return ResourceServer(properties["UserPoolId"], properties["Identifier"], properties["Name"], scopes)


def names(properties: object) -> ServerId | None:
    """The server that properties name, when they name one Cognito could hold."""
    try:
        return parse(properties).id
    except RequestFailed:
        return None


def adopts_existing(properties: object) -> bool:
    """Whether the properties ask to take over an existing server: only a valid "true" does."""
    return isinstance(properties, Mapping) and _boolean(properties.get("AdoptExisting", "false")) is True


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    return BOOLEANS.get(value) if isinstance(value, str) else None


def _shown(value: object) -> str:
    return repr(value)[:40] if isinstance(value, str) else _kind(value)


def _parse_scopes(value: object) -> tuple[tuple[Scope, ...], list[str]]:
    if not isinstance(value, list):
        return (), [f"Scopes must be a list of {{ScopeName, ScopeDescription}} maps, not {_kind(value)}"]
    problems = []
    if len(value) > MAX_SCOPES:
        problems.append(f"Scopes has {len(value)} items, over Cognito's {MAX_SCOPES}")
    scopes: list[Scope] = []
    first_index: dict[str, int] = {}
    for index, item in enumerate(value):
        where = f"Scopes[{index}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where} must be a map with ScopeName and ScopeDescription, not {_kind(item)}")
            continue
        item_problems = [f"{where}.{key} is required" for key in SCOPE_KEYS if key not in item]
        item_problems += [f"{where}.{key!s:.40} is not a scope key" for key in item if key not in SCOPE_KEYS]
        for key, rule in (("ScopeName", SCOPE_NAME), ("ScopeDescription", SCOPE_DESCRIPTION)):
            if key in item and (problem := rule.problem(item[key])):
                item_problems.append(f"{where}.{key} {problem}")
        if item_problems:
            problems += item_problems
            continue
        name = item["ScopeName"]
        if name in first_index:
            problems.append(f"{where}.ScopeName duplicates Scopes[{first_index[name]}] ({name:.40})")
            continue
        first_index[name] = index
        scopes.append(Scope(name, item["ScopeDescription"]))
    return tuple(scopes), problems


def _not_utf8(value: object, where: str) -> Iterator[str]:
    """Where, in a JSON-like value, text lies that UTF-8 can't encode, such as a lone surrogate."""
    if isinstance(value, str) and not is_utf8(value):
        yield where
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(key, str) and not is_utf8(key):
                yield f"a key in {where}"
            else:
                yield from _not_utf8(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _not_utf8(item, f"{where}[{index}]")


def _reason(problems: list[str]) -> str:
    """Whole problems, as many as fit, then how many more there are: the log has them all."""
    reason = "Invalid properties: "
    for shown, problem in enumerate(problems):
        rest = len(problems) - shown - 1
        tail = f"; +{rest} more in the log" if rest else ""
        candidate = reason + ("; " if shown else "") + problem
        if len(candidate + tail) > REASON_ROOM and shown:
            return f"{reason}; +{rest + 1} more in the log"
        reason = candidate
    return reason[:REASON_ROOM]


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
