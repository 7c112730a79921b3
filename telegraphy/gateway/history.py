"""Recent events per topic, for recovery after a disconnect: the History interface and its memory store.

Every accepted event gets a position, ``seq``, in one order shared by all topics: the memory store
counts, a stream-backed store uses the stream's offset. ``epoch`` names that order: a client that
saw another epoch knows its positions mean nothing here. A store keeps the last ``history: N``
events of each topic and remembers, per topic, the newest position it no longer holds, so that a
recovery that cannot be complete says so instead of silently skipping events.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from ..events import Event


class HistoryGap(Exception):
    """Some of the events asked for are older than what the history still holds."""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int  # position in the order shared by every topic of this epoch
    event: Event


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    more: bool  # the page was cut at ``limit``: ask again after the last entry's seq


class History:
    """What the hub, resume and the procedures need of a history store.

    A store for several gateways (a stream) may answer the read methods with a Deferred; callers
    wrap them in ``defer.maybeDeferred``.
    """

    epoch: str

    def append(self, event: Event, keep: int, seq: int | None = None) -> Entry:
        """Number ``event`` (or take ``seq`` from the transport) and keep it if ``keep`` > 0."""
        raise NotImplementedError

    def last(self, topic: str) -> int:
        """The position of the newest event of ``topic`` this store knows (0: none)."""
        raise NotImplementedError

    def page(self, topic: str, since: int, limit: int) -> Page:
        """Events of ``topic`` after position ``since``, oldest first; HistoryGap if some are gone."""
        raise NotImplementedError

    def after(self, seq: int, matches: Callable[[str], bool], exact: str | None = None) -> list[Entry]:
        """Events after ``seq`` on topics ``matches`` accepts (just ``exact`` if given), in order."""
        raise NotImplementedError

    def complete_after(self, seq: int, matches: Callable[[str], bool], exact: str | None = None) -> bool:
        """Whether every event after ``seq`` on the topics ``matches`` accepts is still held."""
        raise NotImplementedError

    def stats(self) -> dict[str, int]:
        """Sizes for /metrics: topics, entries, bytes."""
        raise NotImplementedError


class _Topic:
    __slots__ = ("ring", "last", "lost", "bytes")

    def __init__(self) -> None:
        self.ring: deque[Entry] | None = None
        self.last = 0  # newest position seen
        self.lost = 0  # newest position no longer held
        self.bytes = 0


class MemoryHistory(History):
    """The history of one gateway process, in memory, bounded.

    At most ``max_topics`` topics keep state and their held events total at most ``max_bytes``
    (the size of their JSON envelopes); past either bound the topic published least recently is
    forgotten. The last position of each forgotten topic is remembered (for up to ten times
    ``max_topics`` of them; past that, as one position for all): a recovery that reaches back past
    it reports a gap, never a silent loss.
    """

    def __init__(self, max_topics: int = 10_000, max_bytes: int = 64 * 2**20, epoch: str | None = None) -> None:
        self.epoch = epoch or secrets.token_hex(4)
        self.seq = 0
        self.max_topics, self.max_bytes = max_topics, max_bytes
        self.bytes = 0
        self._forgotten: OrderedDict[str, int] = OrderedDict()  # topic -> its last position
        self.forgotten = 0  # the newest position of the topics no longer in _forgotten either
        self._topics: OrderedDict[str, _Topic] = OrderedDict()

    def append(self, event: Event, keep: int, seq: int | None = None) -> Entry:
        self.seq = self.seq + 1 if seq is None else seq
        entry = Entry(self.seq, event)
        topic = self._topics.get(event.name)
        if topic is None:
            topic = self._topics[event.name] = _Topic()
            topic.lost = self._lost_before(event.name)  # what it had before it was forgotten is gone
        else:
            self._topics.move_to_end(event.name)
        topic.last = entry.seq
        if keep:
            ring = topic.ring
            if ring is None or ring.maxlen != keep:  # first event, or the policy changed
                if ring is not None and len(ring) > keep:
                    topic.lost = ring[len(ring) - keep - 1].seq
                ring = topic.ring = deque(ring or (), maxlen=keep)
                self.bytes -= topic.bytes
                topic.bytes = sum(len(e.event.encode()) for e in ring)
                self.bytes += topic.bytes
            if len(ring) == keep:
                dropped = ring[0]
                topic.lost = dropped.seq
                topic.bytes -= len(dropped.event.encode())
                self.bytes -= len(dropped.event.encode())
            size = len(event.encode())
            ring.append(entry)
            topic.bytes += size
            self.bytes += size
        else:
            topic.lost = entry.seq
            if topic.ring is not None:  # the policy no longer keeps history
                topic.ring, self.bytes, topic.bytes = None, self.bytes - topic.bytes, 0
        if len(self._topics) > self.max_topics or self.bytes > self.max_bytes:
            self._forget()
        return entry

    def _forget(self) -> None:
        while self._topics and (len(self._topics) > self.max_topics or self.bytes > self.max_bytes):
            name, topic = self._topics.popitem(last=False)
            self.bytes -= topic.bytes
            self._forgotten[name] = topic.last
            if len(self._forgotten) > max(10 * self.max_topics, 1000):
                self.forgotten = max(self.forgotten, self._forgotten.popitem(last=False)[1])

    def _lost_before(self, name: str) -> int:
        """The newest position of ``name`` this store no longer knows anything about."""
        return self._forgotten.pop(name, self.forgotten)

    def last(self, topic: str) -> int:
        state = self._topics.get(topic)
        return state.last if state is not None else 0

    def page(self, topic: str, since: int, limit: int) -> Page:
        state = self._topics.get(topic)
        if state is None:
            if self._forgotten.get(topic, self.forgotten) > since:
                raise HistoryGap(f"the history no longer holds the events of {topic!r} after seq {since}")
            return Page([], False)
        if state.lost > since:
            raise HistoryGap(f"the history of {topic!r} no longer holds the events after seq {since}")
        found = [e for e in state.ring or () if e.seq > since]
        return Page(found[:limit], len(found) > limit)

    def after(self, seq: int, matches: Callable[[str], bool], exact: str | None = None) -> list[Entry]:
        topics = [self._topics.get(exact)] if exact is not None else \
            [state for name, state in self._topics.items() if matches(name)]
        found = [e for state in topics if state is not None and state.ring for e in state.ring if e.seq > seq]
        found.sort(key=lambda e: e.seq)
        return found

    def complete_after(self, seq: int, matches: Callable[[str], bool], exact: str | None = None) -> bool:
        if exact is not None:
            state = self._topics.get(exact)
            return (state.lost if state is not None else self._forgotten.get(exact, self.forgotten)) <= seq
        if self.forgotten > seq or any(last > seq and matches(name) for name, last in self._forgotten.items()):
            return False
        return all(state.lost <= seq for name, state in self._topics.items() if matches(name))

    def stats(self) -> dict[str, int]:
        return {"topics": len(self._topics), "entries": sum(len(s.ring or ()) for s in self._topics.values()),
                "bytes": self.bytes}
