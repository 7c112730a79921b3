"""The broker: subscriptions, pattern matching, access checks and fan-out of prepared frames."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgpack

from ..config import Config, EventPolicy
from ..events import Event
from .filters import compile_filter
from .history import Entry, History

if TYPE_CHECKING:
    from .session import GatewaySession

EVENT = 36
EXACT, PREFIX, WILDCARD = "exact", "prefix", "wildcard"


def topic_matcher(topic: str, match: str) -> Callable[[str], bool]:
    """A predicate telling whether an event name matches a subscription (WAMP match policies)."""
    if match == EXACT:
        return topic.__eq__
    if match == PREFIX:
        return lambda name: name.startswith(topic)
    parts = topic.split(".")

    def wildcard(name: str) -> bool:
        names = name.split(".")
        return len(names) == len(parts) and all(p == "" or p == n for p, n in zip(parts, names, strict=True))
    return wildcard


class Subscription:
    """One (topic, match, filter): every session in it receives the very same EVENT frame."""

    __slots__ = ("id", "topic", "match", "filter_text", "filter", "matches", "sessions", "collectors")

    def __init__(self, sub_id: int, topic: str, match: str, filter_text: str | None) -> None:
        self.id, self.topic, self.match, self.filter_text = sub_id, topic, match, filter_text
        self.filter = compile_filter(filter_text) if filter_text is not None else None
        self.matches = topic_matcher(topic, match)
        self.sessions: dict[GatewaySession, None] = {}
        self.collectors: list = []  # persistent subscriptions of sessions that are away (resume.py)

    def describe(self) -> dict:
        return {"id": self.id, "topic": self.topic, "match": self.match, "filter": self.filter_text}


class Broker:
    """Routes each event to the subscriptions that match it and may see it."""

    def __init__(self, config: Config, metrics, prepare: Callable[[bytes, bool], object]) -> None:
        self.config = config
        self.metrics = metrics
        self.prepare = prepare  # wraps a serialized frame as a WebSocket message sent to many
        self.history = History()
        self._subs: dict[tuple, Subscription] = {}
        self._by_id: dict[int, Subscription] = {}
        self._cache: dict[str, tuple[Subscription, ...]] = {}
        self._ids = itertools.count(random.randint(1, 2**40))

    # -- subscriptions ---------------------------------------------------------------------------
    def subscribe(self, session: GatewaySession, topic: str, match: str, filter_text: str | None) -> Subscription:
        """Add ``session`` to the subscription for (topic, match, filter); FilterError if invalid."""
        key = (topic, match, filter_text)
        sub = self._subs.get(key)
        if sub is None:
            sub = Subscription(next(self._ids), topic, match, filter_text)
            self._subs[key] = self._by_id[sub.id] = sub
            self._cache.clear()
        sub.sessions[session] = None
        return sub

    def unsubscribe(self, session: GatewaySession, sub_id: int) -> bool:
        sub = self._by_id.get(sub_id)
        if sub is None or session not in sub.sessions:
            return False
        del sub.sessions[session]
        self.release(sub)
        return True

    def release(self, sub: Subscription) -> None:
        """Forget ``sub`` once no session is in it and no away session collects from it."""
        if not sub.sessions and not sub.collectors and self._by_id.get(sub.id) is sub:
            del self._subs[(sub.topic, sub.match, sub.filter_text)]
            del self._by_id[sub.id]
            self._cache.clear()

    def matching(self, name: str) -> tuple[Subscription, ...]:
        subs = self._cache.get(name)
        if subs is None:
            subs = self._cache[name] = tuple(s for s in self._subs.values() if s.matches(name))
            if len(self._cache) > 100_000:
                self._cache.clear()
        return subs

    def subscribers(self, name: str) -> int:
        """How many sessions would receive an event called ``name`` (filters aside)."""
        return len({s for sub in self.matching(name) for s in sub.sessions})

    @property
    def subscription_count(self) -> int:
        return len(self._subs)

    # -- fan-out ---------------------------------------------------------------------------------
    def publish(self, event: Event, publisher: GatewaySession | None = None) -> Entry:
        """Sequence ``event``, keep it in history and queue it to every session allowed to see it."""
        policy = self.config.policy(event.name)
        entry = self.history.append(event, policy.history)
        self.metrics.events_in += 1
        subs = self.matching(event.name)
        if subs:
            self.fan_out(entry, policy, subs, exclude=publisher)
        return entry

    def fan_out(self, entry: Entry, policy: EventPolicy, subs, exclude=None, only=None) -> None:
        """Send ``entry`` to the sessions of ``subs`` (or to ``only``), serializing it once per
        subscription and serializer: every receiver gets the very same prepared frame."""
        event, envelope, sent = entry.event, None, 0
        pub_id = random.randint(1, 2**53)
        details = b'{"topic":"%s","seq":%d,"epoch":"%s"}' % (event.name.encode(), entry.seq,
                                                              self.history.epoch.encode())
        for sub in subs:
            if sub.filter is not None:
                if envelope is None:
                    envelope = event.envelope()
                if not sub.filter(envelope):
                    continue
            if only is None:
                for collector in sub.collectors:
                    collector.collect(entry, policy)
            frames: dict[str, object] = {}
            public = policy.access == "public"
            for session in (sub.sessions if only is None else (only,)):
                if session is exclude or not (public or session.may_receive(event, policy)):
                    continue
                kind = session.serializer_id
                frame = frames.get(kind)
                if frame is None:
                    frame = frames[kind] = self._frame(kind, sub.id, pub_id, details, event)
                session.send_frame(frame, entry.gidx)
                sent += 1
        self.metrics.events_out += sent

    def _frame(self, kind: str, sub_id: int, pub_id: int, details: bytes, event: Event):
        if kind == "json":
            # the envelope is spliced in as received: it was validated JSON, and is not encoded again
            payload = b"[36,%d,%d,%s,[%s]]" % (sub_id, pub_id, details, event.encode())
            return self.prepare(payload, False)
        body = [EVENT, sub_id, pub_id, json.loads(details), [event.envelope()]]
        return self.prepare(msgpack.packb(body, use_bin_type=True), True)

    # -- sessions --------------------------------------------------------------------------------
    def drop_session(self, session: GatewaySession) -> None:
        for sub_id in list(session.subscriptions):
            self.unsubscribe(session, sub_id)
