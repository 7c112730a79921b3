"""The event envelope: the one JSON shape every transport carries and every browser receives."""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidEvent

# What a model write was: meta.event_type, and the operations model events are chosen by
OP_CREATE, OP_UPDATE, OP_DELETE = "create", "update", "delete"
OPERATIONS = (OP_CREATE, OP_UPDATE, OP_DELETE)
EVENT_TYPES = (None, *OPERATIONS)

# WAMP "strict" URI components, plus '-' (loose URIs allow it) so "shop.Order" and "my-app.x" work.
# Matched as a whole string (fullmatch: "$" would also accept a final newline).
_NAME = re.compile(r"[0-9A-Za-z_\-]+(\.[0-9A-Za-z_\-]+)*")
MAX_NAME_LENGTH = 255
# Every envelope must frame as JSON and as msgpack for any subscriber: these bound what it may hold.
MAX_NESTING = 64
_INT_RANGE = (-(2**63), 2**64 - 1)  # what msgpack can carry
_MAYBE_SURROGATE = re.compile(rb"\\u[dD][89abcdefABCDEF]")
_LONG_NUMBER = re.compile(rb"\d{19}")


def validate_name(name: object) -> str:
    """Return ``name`` if it is a valid event name (a WAMP URI), else raise InvalidEvent."""
    if isinstance(name, str) and name in _valid_names:  # the gateway sees the same few names over and over
        return name
    _check_name(name)
    if len(_valid_names) < 10_000:
        _valid_names.add(name)
    return name


_valid_names: set[str] = set()


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidEvent(f"event name must be a non-empty string, got {name!r}")
    if len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name):
        raise InvalidEvent(
            f"invalid event name {name!r}: use dot-separated parts of letters, digits, '_' or '-' "
            f"(at most {MAX_NAME_LENGTH} characters), e.g. 'shop.Order'")
    if name.startswith("wamp.") or name.startswith("telegraphy."):
        raise InvalidEvent(f"invalid event name {name!r}: 'wamp.' and 'telegraphy.' are reserved")


def utc_timestamp(moment: datetime.datetime | None = None) -> str:
    """ISO 8601 in UTC with microseconds and a 'Z', the form browsers' Date() parses."""
    if moment is None:
        return _now()
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds") + "Z"


_second: list = [None, ""]  # the last whole second, formatted once: publish() is on hot paths


def _now() -> str:
    now = time.time()
    second = int(now)
    if _second[0] != second:
        _second[:] = [second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))]
    return f"{_second[1]}.{int((now - second) * 1e6):06d}Z"


def _default(value: Any) -> Any:
    """JSON for the types web apps really send; the 2013 version failed on these."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            return utc_timestamp(value)
        return value.isoformat()
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return str(value)  # exact, as Django's JSON encoder does
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(value).__module__}.{type(value).__qualname__} is not JSON serializable")


_encoder = json.JSONEncoder(default=_default, ensure_ascii=False, separators=(",", ":"),
                            allow_nan=False, check_circular=True)


def _encode(name: str, data: Any, meta: Mapping[str, Any]) -> bytes:
    envelope = {"name": name, "data": data, "meta": meta}
    try:
        raw = _encoder.encode(envelope).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"event {name!r} cannot be encoded as JSON: {exc}") from None
    except RecursionError:
        raise InvalidEvent(f"event {name!r} nests deeper than {MAX_NESTING} levels") from None
    except UnicodeEncodeError as exc:
        raise InvalidEvent(f"event {name!r} holds a string that is not valid Unicode: {exc.reason}") from None
    check_frameable(raw, None)
    return raw


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_frameable(raw: bytes, obj: Any) -> None:
    """Raise InvalidEvent unless the envelope ``raw`` (parsed: ``obj``) can go to every subscriber.

    JSON subscribers get ``raw`` spliced into their frames and msgpack subscribers get ``obj``
    packed, so an envelope must nest at most MAX_NESTING levels, hold no lone surrogate and no
    integer msgpack cannot carry. Cheap byte counts rule these out for nearly every event; only a
    suspicious one is walked.
    """
    deep = raw.count(b"[") + raw.count(b"{") > MAX_NESTING
    surrogate = b"\\u" in raw and _MAYBE_SURROGATE.search(raw) is not None
    huge = _LONG_NUMBER.search(raw) is not None
    if not (deep or surrogate or huge):
        return
    if obj is None:
        obj = json.loads(raw)
    stack = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_NESTING:
            raise InvalidEvent(f"event nests deeper than {MAX_NESTING} levels")
        if isinstance(value, dict):
            stack.extend((k, depth) for k in value)
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidEvent("event holds a lone UTF-16 surrogate (\\ud800-\\udfff): not Unicode") from None
        elif isinstance(value, int) and not isinstance(value, bool) and not _INT_RANGE[0] <= value <= _INT_RANGE[1]:
            raise InvalidEvent(f"event holds the integer {value}, outside the 64-bit range every client can read")


@dataclass(frozen=True)
class Event:
    """A named event with its data and metadata, as published by the web app.

    ``raw`` holds the exact UTF-8 JSON the event travelled as, so the gateway can splice it
    into WAMP frames without encoding it again.
    """

    name: str
    data: Any = None
    meta: Mapping[str, Any] = field(default_factory=dict)
    raw: bytes | None = field(default=None, compare=False, repr=False)

    @classmethod
    def create(cls, name: str, data: Any = None, event_type: str | None = None, *,
               verbose_name: str | None = None, user: Any = None, id: str | None = None,
               timestamp: str | None = None, **extra: Any) -> Event:
        """Build and validate an event, filling in the envelope's metadata."""
        validate_name(name)
        if event_type not in EVENT_TYPES:
            raise InvalidEvent(f"event_type must be one of create, update, delete or None, got {event_type!r}")
        meta = {"event_type": event_type, "verbose_name": verbose_name,
                "timestamp": timestamp or _now(), "id": id or os.urandom(16).hex(),
                "user": None if user is None else str(user)}
        for key, value in extra.items():
            if key in meta:
                raise InvalidEvent(f"meta key {key!r} is set by Telegraphy")
            meta[key] = value
        return cls(name, data, meta, _encode(name, data, meta))

    def envelope(self) -> dict[str, Any]:
        return {"name": self.name, "data": self.data, "meta": dict(self.meta)}

    def encode(self) -> bytes:
        """The envelope as UTF-8 JSON; raises InvalidEvent naming what could not be encoded."""
        if self.raw is not None:
            return self.raw
        return _encode(self.name, self.data, self.meta)

    @classmethod
    def decode(cls, raw: bytes | str) -> Event:
        """Parse and validate an envelope received from a transport."""
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        try:
            obj = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InvalidEvent(f"event is not UTF-8 JSON: {exc}") from None
        except RecursionError:
            raise InvalidEvent(f"event nests deeper than {MAX_NESTING} levels") from None
        if not isinstance(obj, dict) or set(obj) - {"name", "data", "meta"}:
            raise InvalidEvent("event must be a JSON object with keys name, data and meta")
        meta = obj.get("meta")
        meta = {} if meta is None else meta
        if not isinstance(meta, dict):
            raise InvalidEvent("event meta must be a JSON object")
        name = validate_name(obj.get("name"))
        check_frameable(raw, obj)
        return cls(name, obj.get("data"), meta, raw)

    @property
    def user(self) -> str | None:
        user = self.meta.get("user")
        return None if user is None else str(user)
