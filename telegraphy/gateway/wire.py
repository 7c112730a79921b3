"""WAMP v2 on the wire: decoding what clients send (bounded) and building what the gateway sends.

Everything a client sends is untrusted: a frame is decoded by the serializer the session chose,
nested structures are bounded, and each message is checked against the WAMP message shapes the
gateway accepts before a handler sees it. A decoding problem is a :class:`ProtocolViolation`,
which closes that one session. Everything the gateway sends is built here, so a frame it builds is
valid JSON or msgpack by construction (names are escaped by the encoder, never pasted).
"""

from __future__ import annotations

import json
import re
import struct
from dataclasses import dataclass
from typing import Any

import msgpack

from ..events import Event

# message types (WAMP v2, basic and advanced profiles)
HELLO, WELCOME, ABORT, CHALLENGE, AUTHENTICATE, GOODBYE, ERROR = 1, 2, 3, 4, 5, 6, 8
PUBLISH, PUBLISHED, SUBSCRIBE, SUBSCRIBED, UNSUBSCRIBE, UNSUBSCRIBED, EVENT = 16, 17, 32, 33, 34, 35, 36
CALL, CANCEL, RESULT, REGISTER, UNREGISTER, YIELD = 48, 49, 50, 64, 66, 70
NAMES = {HELLO: "HELLO", WELCOME: "WELCOME", ABORT: "ABORT", CHALLENGE: "CHALLENGE",
         AUTHENTICATE: "AUTHENTICATE", GOODBYE: "GOODBYE", ERROR: "ERROR", PUBLISH: "PUBLISH",
         PUBLISHED: "PUBLISHED", SUBSCRIBE: "SUBSCRIBE", SUBSCRIBED: "SUBSCRIBED", UNSUBSCRIBE: "UNSUBSCRIBE",
         UNSUBSCRIBED: "UNSUBSCRIBED", EVENT: "EVENT", CALL: "CALL", CANCEL: "CANCEL", RESULT: "RESULT",
         REGISTER: "REGISTER", UNREGISTER: "UNREGISTER", YIELD: "YIELD"}

MAX_NESTING = 32  # of a client's message; WAMP messages themselves nest three levels
MAX_ID = 2**53  # WAMP ids are integers in [1, 2^53]
MATCHES = ("exact", "prefix", "wildcard")
# a loose WAMP URI (what clients subscribe to): components of anything but whitespace, '.' and '#';
# empty components only in wildcard patterns
_URI_COMPONENT = re.compile(r"[^\s.#]+")


class ProtocolViolation(Exception):
    """The client broke the protocol: the session is closed with ``wamp.error.protocol_violation``."""


class InvalidUri(Exception):
    """A well-formed request names an invalid URI: answered with ERROR ``wamp.error.invalid_uri``."""

    def __init__(self, request_type: int, request: int, text: str) -> None:
        super().__init__(text)
        self.request_type, self.request = request_type, request


# -- serializers -------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # hashed by identity: a key of the fan-out's per-event frame cache
class Serializer:
    """One WAMP serializer: the WebSocket subprotocol, frame kind, and how to encode and decode."""

    id: str
    subprotocol: str
    binary: bool

    def decode(self, payload: bytes) -> Any:
        try:
            if self.binary:
                return msgpack.unpackb(payload, raw=False, strict_map_key=True, use_list=True)
            return json.loads(payload.decode("utf-8"), parse_constant=_no_constants)
        except RecursionError:
            raise ProtocolViolation(f"{self.id} message nests too deeply") from None
        except (ValueError, TypeError, UnicodeDecodeError, msgpack.UnpackException) as exc:
            raise ProtocolViolation(f"malformed {self.id} message: {exc or type(exc).__name__}") from None

    def encode(self, msg: list) -> bytes:
        """A WebSocket frame carrying ``msg`` (a WAMP message as a list)."""
        if self.binary:
            return ws_frame(msgpack.packb(msg, use_bin_type=True), True)
        return ws_frame(_json.encode(msg).encode("utf-8"), False)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)

JSON = Serializer("json", "wamp.2.json", False)
MSGPACK = Serializer("msgpack", "wamp.2.msgpack", True)
SERIALIZERS = {s.subprotocol: s for s in (JSON, MSGPACK)}


def ws_frame(payload: bytes, binary: bool) -> bytes:
    """An unfragmented, unmasked WebSocket data frame (RFC 6455 §5.2: servers never mask)."""
    first = 0x82 if binary else 0x81
    size = len(payload)
    if size < 126:
        return bytes((first, size)) + payload
    if size < 65536:
        return struct.pack("!BBH", first, 126, size) + payload
    return struct.pack("!BBQ", first, 127, size) + payload


# -- EVENT frames, built once per subscription and serializer ----------------------------------------
def event_details(topic: str, seq: int, epoch: str) -> dict:
    return {"topic": topic, "seq": seq, "epoch": epoch}


def event_frame(serializer: Serializer, sub_id: int, publication: int, details: dict, details_json: bytes,
                event: Event) -> bytes:
    """The EVENT frame for one subscription: the envelope goes in as ``args[0]``.

    For JSON the envelope is spliced in as received (it was validated, and is not encoded again)
    and the details were encoded once per event by the caller.
    """
    if serializer.binary:
        payload = msgpack.packb([EVENT, sub_id, publication, details, [event.envelope()]], use_bin_type=True)
        return ws_frame(payload, True)
    return ws_frame(b"[36,%d,%d,%s,[%s]]" % (sub_id, publication, details_json, event.encode()), False)


def encode_details(details: dict) -> bytes:
    return _json.encode(details).encode("utf-8")


# -- checking what clients send ----------------------------------------------------------------------
def check_nesting(value: Any, limit: int = MAX_NESTING) -> None:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            if depth > limit:
                raise ProtocolViolation(f"message nests deeper than {limit} levels")
            stack.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))


def messages(serializer: Serializer, payload: bytes) -> list:
    """The WAMP message in one frame, as a list (type first), bounded in nesting."""
    msg = serializer.decode(payload)
    if not isinstance(msg, list) or not msg or type(msg[0]) is not int:
        raise ProtocolViolation("a WAMP message is a list starting with its type")
    check_nesting(msg)
    return msg


def _id(value: Any, what: str) -> int:
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise ProtocolViolation(f"{what} must be an integer in [0, 2^53]")
    return value


def _dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise ProtocolViolation(f"{what} must be a dictionary")
    return value


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolViolation(f"{what} must be a string")
    return value


def _shape(msg: list, minimum: int, maximum: int) -> None:
    if not minimum <= len(msg) <= maximum:
        name = NAMES.get(msg[0], str(msg[0]))
        raise ProtocolViolation(f"{name} must have {minimum}{'' if minimum == maximum else f' to {maximum}'} "
                                "elements")


def valid_uri(uri: str, match: str = "exact") -> bool:
    """A topic URI (or pattern) a subscription may name."""
    if not uri or len(uri) > 255:
        return match == "prefix" and uri == ""
    parts = uri.split(".")
    if match == "prefix":  # a plain string prefix: "shop" and "shop." are both fine
        parts = parts[:-1] + ([parts[-1]] if parts[-1] else [])
    return all(_URI_COMPONENT.fullmatch(p) or (match == "wildcard" and p == "") for p in parts)


def optional(options: dict, names: tuple[str, ...], kind: type | tuple[type, ...]) -> Any:
    """An option a client may send under any of ``names`` (``filter`` or ``_filter``...); a value of
    another type than ``kind`` counts as absent, as WAMP clients send odd values for unset options."""
    for name in names:
        value = options.get(name)
        if isinstance(value, kind) and not (kind is not bool and isinstance(value, bool)):
            return value
    return None


@dataclass(frozen=True)
class Hello:
    realm: str
    authmethods: tuple[str, ...]
    authextra: dict


@dataclass(frozen=True)
class Subscribe:
    request: int
    topic: str
    match: str
    options: dict


@dataclass(frozen=True)
class Publish:
    request: int
    topic: str
    acknowledge: bool
    exclude_me: bool
    data: Any


@dataclass(frozen=True)
class Call:
    request: int
    procedure: str
    args: list
    kwargs: dict


def parse_hello(msg: list) -> Hello:
    _shape(msg, 3, 3)
    realm = _str(msg[1], "HELLO.Realm")
    details = _dict(msg[2], "HELLO.Details")
    methods = details.get("authmethods") or []
    if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods):
        raise ProtocolViolation("HELLO.Details.authmethods must be a list of strings")
    extra = details.get("authextra") or {}
    return Hello(realm, tuple(methods), extra if isinstance(extra, dict) else {})


def parse_authenticate(msg: list) -> str:
    _shape(msg, 2, 3)
    return _str(msg[1], "AUTHENTICATE.Signature")


def parse_subscribe(msg: list) -> Subscribe:
    _shape(msg, 4, 4)
    request = _id(msg[1], "SUBSCRIBE.Request")
    options = _dict(msg[2], "SUBSCRIBE.Options")
    topic = _str(msg[3], "SUBSCRIBE.Topic")
    match = optional(options, ("match",), str) or "exact"
    if match not in MATCHES:
        raise InvalidUri(SUBSCRIBE, request, f"unknown match policy {match!r}: use exact, prefix or wildcard")
    if not valid_uri(topic, match):
        raise InvalidUri(SUBSCRIBE, request, f"invalid topic URI {topic[:300]!r}")
    return Subscribe(request, topic, match, options)


def parse_unsubscribe(msg: list) -> tuple[int, int]:
    _shape(msg, 3, 3)
    return _id(msg[1], "UNSUBSCRIBE.Request"), _id(msg[2], "UNSUBSCRIBE.Subscription")


def parse_publish(msg: list) -> Publish:
    _shape(msg, 4, 6)
    request = _id(msg[1], "PUBLISH.Request")
    options = _dict(msg[2], "PUBLISH.Options")
    topic = _str(msg[3], "PUBLISH.Topic")
    args = msg[4] if len(msg) > 4 else []
    kwargs = msg[5] if len(msg) > 5 else {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ProtocolViolation("PUBLISH.Arguments must be a list and PUBLISH.ArgumentsKw a dictionary")
    data = kwargs if kwargs else (args[0] if len(args) == 1 else args)
    return Publish(request, topic, optional(options, ("acknowledge",), bool) is True,
                   optional(options, ("exclude_me",), bool) is not False, data)


def parse_call(msg: list) -> Call:
    _shape(msg, 4, 6)
    request = _id(msg[1], "CALL.Request")
    _dict(msg[2], "CALL.Options")
    procedure = _str(msg[3], "CALL.Procedure")
    args = msg[4] if len(msg) > 4 else []
    kwargs = msg[5] if len(msg) > 5 else {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise ProtocolViolation("CALL.Arguments must be a list and CALL.ArgumentsKw a dictionary")
    if not all(isinstance(k, str) and k.isidentifier() for k in kwargs):
        raise ProtocolViolation("CALL.ArgumentsKw keys must be names")
    return Call(request, procedure, args, kwargs)


def request_id(msg: list) -> int:
    """The request id of a message that has one (REGISTER, CANCEL...), for an ERROR answer."""
    _shape(msg, 2, 16)
    return _id(msg[1], f"{NAMES.get(msg[0], msg[0])}.Request")


# -- what the gateway sends --------------------------------------------------------------------------
def abort(reason: str, text: str) -> list:
    return [ABORT, {"message": text}, reason]


def goodbye(reason: str, text: str | None = None) -> list:
    return [GOODBYE, {"message": text} if text else {}, reason]


def error(request_type: int, request: int, uri: str, text: str) -> list:
    return [ERROR, request_type, request, {}, uri, [text]]
