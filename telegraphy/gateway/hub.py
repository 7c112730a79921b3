"""The hub: subscriptions, topic matching and the fan-out of accepted events to subscribers.

An event is *accepted* (numbered, kept in history, queued) at once, and delivered afterwards in
slices of at most ``slice_size`` receivers per reactor turn, in acceptance order: a transport's
representative acknowledges the event without waiting for the audience, and no event, however
large its audience, keeps the reactor from serving others for long.

Subscribers are anything with the small interface of :class:`Subscriber`; the hub never sees a
WebSocket. Whatever goes wrong while serving one subscription (a filter, a subscriber) is
contained to it and counted: it never reaches another subscription, the transport or the web app.
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Protocol

from twisted.internet import defer
from twisted.logger import Logger

from ..config import Config, EventPolicy
from ..events import Event
from . import wire
from .access import PUBLIC, Access
from .auth import Identity
from .filters import compile_filter
from .history import Entry, History

EXACT, PREFIX, WILDCARD = "exact", "prefix", "wildcard"
SLICE_SECONDS = 0.001  # the fan-out yields the reactor after this long...
SLICE_SIZE = 4096  # ...or after this many receivers, whichever comes first
CHUNK = 64  # receivers served between two looks at the clock


class Subscriber(Protocol):
    """What the hub needs of a session."""

    identity: Identity
    serializer: wire.Serializer

    def deliver(self, sub: Subscription, frame: bytes, entry: Entry) -> None:
        """Send a prepared EVENT frame (built for this subscriber's serializer)."""

    def revoked(self, sub: Subscription, reason: str) -> None:
        """The hub removed this subscriber from ``sub`` (its filter failed, its access was withdrawn)."""


class Watcher(Protocol):
    """Something that follows a subscription without a live session (resume's collectors)."""

    def collect(self, entry: Entry, policy: EventPolicy) -> None: ...


def topic_matcher(topic: str, match: str) -> Callable[[str], bool]:
    """A predicate telling whether an event name matches a subscription (WAMP match policies).

    A prefix is a plain string prefix, as in WAMP: ``shop`` also matches ``shopping.Cart``.
    """
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
    """One (topic, match, filter): every subscriber in it receives the very same EVENT frame.

    ``subscribers`` maps each subscriber to the position accepted last when it joined: events up to
    that position reach it by replay (resume.py), later ones by the fan-out, so none comes twice.
    """

    __slots__ = ("id", "topic", "match", "filter_text", "filter", "matches", "subscribers", "watchers")

    def __init__(self, sub_id: int, topic: str, match: str, filter_text: str | None,
                 predicate: Callable[[dict], bool] | None) -> None:
        self.id, self.topic, self.match, self.filter_text = sub_id, topic, match, filter_text
        self.filter = predicate
        self.matches = topic_matcher(topic, match)
        self.subscribers: dict[Subscriber, int] = {}
        self.watchers: list[Watcher] = []

    @property
    def key(self) -> tuple[str, str, str | None]:
        return self.topic, self.match, self.filter_text

    def describe(self) -> dict:
        return {"id": self.id, "topic": self.topic, "match": self.match, "filter": self.filter_text}


class _Walk:
    """A subscription being served one event: its receivers as they were when the walk began."""

    __slots__ = ("sub", "receivers", "next", "checked", "frames")

    def __init__(self, sub: Subscription) -> None:
        self.sub = sub
        self.receivers = list(sub.subscribers.items())
        self.next = 0
        self.checked = False  # filter and watchers done
        self.frames: dict = {}  # serializer -> the EVENT frame every receiver gets


class _Job:
    """One accepted event on its way to its audience; ``walks`` is what is left of it."""

    __slots__ = ("entry", "policy", "exclude", "publication", "details", "details_json", "envelope", "walks")

    def __init__(self, entry: Entry, policy: EventPolicy, exclude: Subscriber | None, epoch: str) -> None:
        self.entry, self.policy, self.exclude = entry, policy, exclude
        self.publication = random.randint(1, wire.MAX_ID)
        self.details = wire.event_details(entry.event.name, entry.seq, epoch)
        self.details_json = wire.encode_details(self.details)
        self.envelope = None
        self.walks: deque[_Walk] | None = None  # made when its turn comes

    def frame(self, sub: Subscription, frames: dict, serializer: wire.Serializer) -> bytes:
        """The EVENT frame of this event for ``sub`` in ``serializer``, built once into ``frames``."""
        frame = frames.get(serializer)
        if frame is None:
            frame = frames[serializer] = wire.event_frame(
                serializer, sub.id, self.publication, self.details, self.details_json, self.entry.event)
        return frame


class Hub:
    """Routes accepted events to the subscriptions that match them, for the subscribers that may see them."""

    log = Logger()

    def __init__(self, history: History, access: Access, config: Callable[[], Config], metrics, reactor,
                 slice_size: int = SLICE_SIZE, slice_seconds: float = SLICE_SECONDS,
                 behind: Callable[[], bool] = lambda: False) -> None:
        self.history, self.access, self._config, self.metrics, self.reactor = history, access, config, metrics, reactor
        self.slice_size, self.slice_seconds = slice_size, slice_seconds
        self.behind = behind  # True while the subscribers' writes lag too far (websocket.py): wait for them
        self.accepted = 0  # position of the last accepted event
        self._subs: dict[tuple, Subscription] = {}
        self._by_id: dict[int, Subscription] = {}
        self._cache: dict[str, tuple[Subscription, ...]] = {}
        self._ids = itertools.count(random.randint(1, 2**40))
        self._queue: deque[_Job] = deque()
        self._pumping = None  # the scheduled call of _pump, if any
        self._idle: list[defer.Deferred] = []

    # -- subscriptions ---------------------------------------------------------------------------
    def subscribe(self, subscriber: Subscriber, topic: str, match: str,
                  filter_text: str | None) -> tuple[Subscription, bool]:
        """Add ``subscriber`` to the subscription for (topic, match, filter); FilterError if invalid.

        Returns the subscription and whether the subscriber is new in it (WAMP answers a repeated
        SUBSCRIBE with the same subscription).
        """
        sub = self._get(topic, match, filter_text)
        if subscriber in sub.subscribers:
            return sub, False
        sub.subscribers[subscriber] = self.accepted
        return sub, True

    def watch(self, key: tuple, watcher: Watcher) -> Subscription:
        """Let ``watcher`` collect the events of the subscription ``key`` (it stays while watched)."""
        sub = self._get(*key)
        sub.watchers.append(watcher)
        return sub

    def unwatch(self, sub: Subscription, watcher: Watcher) -> None:
        if watcher in sub.watchers:
            sub.watchers.remove(watcher)
            self._release(sub)

    def unsubscribe(self, subscriber: Subscriber, sub_id: int) -> Subscription | None:
        sub = self._by_id.get(sub_id)
        if sub is None or subscriber not in sub.subscribers:
            return None
        del sub.subscribers[subscriber]
        self._release(sub)
        return sub

    def revoke(self, sub: Subscription, subscriber: Subscriber, reason: str) -> None:
        """Take ``subscriber`` out of ``sub`` and tell it why."""
        if self.unsubscribe(subscriber, sub.id) is not None:
            try:
                subscriber.revoked(sub, reason)
            except Exception:  # noqa: BLE001 - a subscriber that cannot be told is gone anyway
                self.log.failure("hub: telling a subscriber of {topic} it was revoked failed", topic=sub.topic)

    def _get(self, topic: str, match: str, filter_text: str | None) -> Subscription:
        key = (topic, match, filter_text)
        sub = self._subs.get(key)
        if sub is None:
            predicate = None
            if filter_text is not None:
                limits = self._config().limits
                predicate = compile_filter(filter_text, limits.max_filter_length, limits.max_filter_depth)
            sub = Subscription(next(self._ids), topic, match, filter_text, predicate)
            self._subs[key] = self._by_id[sub.id] = sub
            self._cache.clear()
        return sub

    def _release(self, sub: Subscription) -> None:
        """Forget ``sub`` once nobody is in it and nothing watches it."""
        if not sub.subscribers and not sub.watchers and self._by_id.get(sub.id) is sub:
            del self._subs[sub.key]
            del self._by_id[sub.id]
            self._cache.clear()

    def subscriptions(self) -> Iterable[Subscription]:
        return list(self._subs.values())

    def matching(self, name: str) -> tuple[Subscription, ...]:
        subs = self._cache.get(name)
        if subs is None:
            if len(self._cache) >= 10_000:
                self._cache.clear()
            subs = self._cache[name] = tuple(s for s in self._subs.values() if s.matches(name))
        return subs

    def subscribers(self, name: str) -> int:
        """How many subscribers would receive an event called ``name`` (filters aside)."""
        return len({s for sub in self.matching(name) for s in sub.subscribers})

    @property
    def subscription_count(self) -> int:
        return len(self._subs)

    # -- accepting and delivering events ---------------------------------------------------------
    def accept(self, event: Event, publisher: Subscriber | None = None, seq: int | None = None) -> Entry:
        """Number ``event``, keep it in history and queue it for delivery; returns at once."""
        policy = self.access.policy(event.name)
        entry = self.history.append(event, policy.history, seq)
        self.accepted = entry.seq
        self.metrics.events_in += 1
        self._queue.append(_Job(entry, policy, publisher, self.history.epoch))
        if self._pumping is None:
            # one turn's grace: the transport answers the web app (written in this turn's I/O) before
            # the fan-out of what it sent takes the next one
            self._pumping = self.reactor.callLater(0, self._after_answer)
        return entry

    def _after_answer(self) -> None:
        self._pumping = self.reactor.callLater(0, self._pump)

    @property
    def backlog(self) -> int:
        """Accepted events not yet delivered to their whole audience."""
        return len(self._queue)

    def idle(self) -> defer.Deferred:
        """Fires once every accepted event has been delivered (a graceful stop waits for it)."""
        if not self._queue:
            return defer.succeed(None)
        d = defer.Deferred()
        self._idle.append(d)
        return d

    def _pump(self) -> None:
        """One slice of the fan-out: as many receivers as ``slice_size`` and ``slice_seconds`` allow."""
        self._pumping = None
        budget, deadline = self.slice_size, perf_counter() + self.slice_seconds
        if self.behind():
            budget = 0
        while self._queue and budget > 0:
            job = self._queue[0]
            if job.walks is None:
                job.walks = deque(_Walk(sub) for sub in self.matching(job.entry.event.name))
            budget = self._serve(job, budget, deadline)
            if not job.walks:
                self._queue.popleft()
        if self._queue:
            self._pumping = self.reactor.callLater(0, self._pump)
        else:
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    def _serve(self, job: _Job, budget: int, deadline: float) -> int:
        """Deliver ``job`` to as many receivers as ``budget`` and ``deadline`` allow; returns the
        budget left (0 when the slice is over)."""
        entry, walks = job.entry, job.walks
        public = job.policy.access == PUBLIC
        sent = 0
        while walks and budget > 0:
            walk = walks[0]
            sub = walk.sub
            if not walk.checked:
                walk.checked = True
                if not self._wanted(job, sub):
                    walks.popleft()
                    continue
            receivers, index = walk.receivers, walk.next
            end = min(len(receivers), index + budget, index + CHUNK)
            budget -= end - index
            current, frames, seq, exclude = sub.subscribers, walk.frames, entry.seq, job.exclude
            for subscriber, joined in receivers[index:end]:
                if joined >= seq or subscriber is exclude or subscriber not in current:
                    continue  # joined after this event was accepted (its replay has it), or left since
                try:
                    if public or self.access.can_receive(subscriber.identity, entry.event, job.policy):
                        frame = frames.get(subscriber.serializer)
                        if frame is None:
                            frame = job.frame(sub, frames, subscriber.serializer)
                        subscriber.deliver(sub, frame, entry)
                        sent += 1
                except Exception:  # noqa: BLE001 - a failing subscriber is revoked, the others go on
                    self.log.failure("hub: delivering {name} to a subscriber of {topic} failed",
                                     name=entry.event.name, topic=sub.topic)
                    self.metrics.fanout_errors += 1
                    self.revoke(sub, subscriber, "telegraphy.error.delivery_failed")
            walk.next = end
            if end == len(receivers):
                walks.popleft()
            if perf_counter() >= deadline:
                budget = 0
        self.metrics.events_out += sent
        return budget

    def _wanted(self, job: _Job, sub: Subscription) -> bool:
        """Whether ``job``'s event passes ``sub``'s filter; if so, its watchers collect it.

        A filter that raises (it should not: filters are bounded) removes its subscription alone.
        """
        try:
            if sub.filter is not None:
                if job.envelope is None:
                    job.envelope = job.entry.event.envelope()
                if not sub.filter(job.envelope):
                    return False
        except Exception:  # noqa: BLE001 - one subscription's failure stays with it
            self._failed(sub, "its filter failed on an event")
            return False
        for watcher in list(sub.watchers):
            try:
                watcher.collect(job.entry, job.policy)
            except Exception:  # noqa: BLE001
                self.log.failure("hub: a watcher of {topic} failed", topic=sub.topic)
                self.metrics.fanout_errors += 1
                self.unwatch(sub, watcher)
        return True

    def _failed(self, sub: Subscription, why: str) -> None:
        self.log.failure("hub: subscription {id} to {topic} ({match}, filter {filter!r}) removed: {why}",
                         id=sub.id, topic=sub.topic, match=sub.match, filter=sub.filter_text, why=why)
        self.metrics.fanout_errors += 1
        for subscriber in list(sub.subscribers):
            self.revoke(sub, subscriber, "telegraphy.error.filter_failed")
        for watcher in list(sub.watchers):
            self.unwatch(sub, watcher)

    def send(self, subscriber: Subscriber, sub: Subscription, entries: Iterable[Entry]) -> int:
        """Send ``entries`` (a replay, oldest first) to one subscriber of ``sub``, with the checks of
        the fan-out (filter, access); returns how many were sent. Watchers do not collect these."""
        sent, frames = 0, {}
        for entry in entries:
            job = _Job(entry, self.access.policy(entry.event.name), None, self.history.epoch)
            try:
                if sub.filter is not None and not sub.filter(entry.event.envelope()):
                    continue
            except Exception:  # noqa: BLE001
                self._failed(sub, "its filter failed on an event")
                break
            if job.policy.access == PUBLIC or self.access.can_receive(subscriber.identity, entry.event, job.policy):
                frames.clear()
                subscriber.deliver(sub, job.frame(sub, frames, subscriber.serializer), entry)
                sent += 1
        self.metrics.events_out += sent
        return sent

    def drop(self, subscriber: Subscriber, sub_ids: Iterable[int]) -> None:
        """``subscriber`` is gone: take it out of its subscriptions."""
        for sub_id in list(sub_ids):
            self.unsubscribe(subscriber, sub_id)

