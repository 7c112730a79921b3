"""Per-topic sequence numbers and ring buffers of recent events, for recovery after a disconnect."""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from ..events import Event


class HistoryGap(Exception):
    """The events asked for are older than what the history still holds."""


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int  # per topic: 1, 2, 3...
    gidx: int  # gateway-wide arrival order
    event: Event


class History:
    """Numbers every event of a topic and keeps the last ``history: N`` of them.

    ``epoch`` changes on every gateway start: a client that saw another epoch knows its sequence
    numbers mean nothing here. ``gidx`` orders events across topics, so a resumed session can be
    replayed everything that arrived after it left, in arrival order.
    """

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(4)
        self.gidx = 0
        self._seq: dict[str, int] = {}
        self._rings: dict[str, deque[Entry]] = {}
        self._lost: dict[str, int] = {}  # topic -> gidx of the newest event no longer held

    def append(self, event: Event, keep: int) -> Entry:
        self.gidx += 1
        seq = self._seq.get(event.name, 0) + 1
        self._seq[event.name] = seq
        entry = Entry(seq, self.gidx, event)
        if keep:
            ring = self._rings.get(event.name)
            if ring is None or ring.maxlen != keep:
                ring = self._rings[event.name] = deque(ring or (), maxlen=keep)
            if len(ring) == keep:
                self._lost[event.name] = ring[0].gidx
            ring.append(entry)
        else:
            self._lost[event.name] = self.gidx
        return entry

    def last_seq(self, topic: str) -> int:
        return self._seq.get(topic, 0)

    def held(self, topic: str) -> list[Entry]:
        return list(self._rings.get(topic, ()))

    def since(self, topic: str, seq: int) -> list[Entry]:
        """Entries of ``topic`` numbered after ``seq``, oldest first; HistoryGap if some are gone."""
        last = self._seq.get(topic, 0)
        if seq >= last:
            return []
        ring = self._rings.get(topic) or ()
        if not ring or ring[0].seq > seq + 1:
            raise HistoryGap(f"the history of {topic!r} no longer holds the events after seq {seq} (last is {last})")
        return [e for e in ring if e.seq > seq]

    def after(self, gidx: int, matches: Callable[[str], bool]) -> list[Entry]:
        """Entries that arrived after ``gidx`` on topics ``matches`` accepts, in arrival order."""
        found = [e for topic, ring in self._rings.items() if matches(topic) for e in ring if e.gidx > gidx]
        found.sort(key=lambda e: e.gidx)
        return found

    def lost_after(self, gidx: int, matches: Callable[[str], bool]) -> list[str]:
        """Topics ``matches`` accepts whose events that arrived after ``gidx`` are (partly) gone."""
        return [topic for topic, lost in self._lost.items() if lost > gidx and matches(topic)]
