"""Sessions that survive a reconnect: resume secrets, persistent subscriptions, replay of what was missed.

Standard WAMP clients (AutobahnJS, autobahn-python) know nothing of subscriptions restored by a
server, so a resumed client subscribes again and the gateway replays, on that new subscription
and before any live event, what the old session missed: from the topic's history, and from what
its ``persistent`` subscriptions collected while it was away.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from dataclasses import dataclass

from twisted.internet import task
from twisted.logger import Logger

from ..config import EventPolicy
from .history import Entry
from .router import topic_matcher


class Collector:
    """Keeps the events of one persistent subscription while its session is away (bounded)."""

    def __init__(self, sub, identity, limit: int) -> None:
        self.sub, self.identity = sub, identity
        self.entries: deque[Entry] = deque(maxlen=limit)
        self.overflowed = limit == 0

    def collect(self, entry: Entry, policy: EventPolicy) -> None:
        if self.identity.may_receive(entry.event, policy):
            if len(self.entries) == self.entries.maxlen:
                self.overflowed = True
            self.entries.append(entry)


@dataclass
class Detached:
    """What is kept of a session that went away, until it resumes or ``auth.resume_ttl`` passes."""

    identity: object
    mark: int  # gidx of the last event written to it
    subscriptions: dict[tuple, Collector | None]  # (topic, match, filter) -> collector if persistent
    expires: float
    owner: object = None  # the live session that holds this secret, if any


class Resumption:
    log = Logger()

    def __init__(self, gateway) -> None:
        self.gateway = gateway
        self.ttl = gateway.config.auth.resume_ttl
        self._records: dict[str, Detached] = {}
        self._by_session: dict[object, str] = {}
        self._pruner = task.LoopingCall(self.prune)

    def start(self) -> None:
        self._pruner.start(5.0, now=False)

    def stop(self) -> None:
        if self._pruner.running:
            self._pruner.stop()

    def begin(self, session, identity, previous: object) -> dict:
        """Give ``session`` a resume secret; with ``previous``, take over that session's state.

        Raises PermissionError with the reason when ``previous`` cannot be resumed.
        """
        extra = {"epoch": self.gateway.broker.history.epoch}
        record = None
        if previous is not None:
            record = self._records.get(previous) if isinstance(previous, str) else None
            if record is None or record.expires < time.time():
                raise PermissionError("unknown or expired previous session: start a new one")
            if record.owner is not None:
                raise PermissionError("the previous session is still connected")
            if record.identity.user != identity.user or record.identity.authmethod != identity.authmethod:
                raise PermissionError("the previous session belongs to another user")
            del self._records[previous]
            gaps = self._gaps(record)
            extra.update(resumed=True, recovered=not gaps, gaps=gaps)
            session.resuming = record
        secret = secrets.token_urlsafe(24)
        self._records[secret] = Detached(identity, 0, {}, float("inf"), owner=session)
        self._by_session[session] = secret
        extra["resume_secret"] = secret
        return extra

    def _gaps(self, record: Detached) -> list[str]:
        history = self.gateway.broker.history
        gaps: list[str] = []
        for (topic, match, _), collector in record.subscriptions.items():
            if collector is not None:
                if collector.overflowed:
                    gaps.append(topic)
                continue
            sub_matches = topic_matcher(topic, match)
            gaps.extend(t for t in history.lost_after(record.mark, sub_matches) if t not in gaps)
        return gaps

    def replay(self, session, sub, options: dict) -> None:
        """Right after SUBSCRIBED: send what this subscription missed, in order, before live events."""
        broker = self.gateway.broker
        record = getattr(session, "resuming", None)
        key = (sub.topic, sub.match, sub.filter_text)
        found: dict[int, Entry] = {}
        if record is not None and key in record.subscriptions:
            collector = record.subscriptions.pop(key)
            found.update((e.gidx, e) for e in broker.history.after(record.mark, sub.matches))
            if collector is not None:
                found.update((e.gidx, e) for e in collector.entries if e.gidx > record.mark)
                self._release(collector)
        since = options.get("since")
        if isinstance(since, dict) and sub.match == "exact":
            # the client's own account of what it saw also covers events lost in a dying socket's buffers
            seq = since.get("seq") if since.get("epoch") == broker.history.epoch else 0
            seq = seq if isinstance(seq, int) else 0
            found.update((e.gidx, e) for e in broker.history.held(sub.topic) if e.seq > seq)
        for entry in sorted(found.values(), key=lambda e: e.gidx):
            policy = self.gateway.config.policy(entry.event.name)
            broker.fan_out(entry, policy, (sub,), only=session)

    def detach(self, session) -> None:
        """``session`` went away: keep what it needs to resume, and start its collectors."""
        secret = self._by_session.pop(session, None)
        if session.said_goodbye:  # it left on purpose: nothing to resume
            self._records.pop(secret, None)
            secret = None
        if session.resuming is not None:  # subscriptions it never took back
            for collector in session.resuming.subscriptions.values():
                self._release(collector)
        if secret is None or secret not in self._records or self.ttl == 0:
            self._records.pop(secret, None)
            return
        subscriptions: dict[tuple, Collector | None] = {}
        for sub_id, sub in session.subscriptions.items():
            collector = None
            if sub_id in session.persistent:
                limit = self.gateway.config.policy(sub.topic).persistent_limit
                collector = Collector(sub, session.identity, limit)
                sub.collectors.append(collector)
            subscriptions[(sub.topic, sub.match, sub.filter_text)] = collector
        self._records[secret] = Detached(session.identity, session.written_gidx, subscriptions,
                                         time.time() + self.ttl)

    def prune(self) -> None:
        now = time.time()
        for secret, record in list(self._records.items()):
            if record.owner is None and record.expires < now:
                del self._records[secret]
                for collector in record.subscriptions.values():
                    self._release(collector)

    def _release(self, collector: Collector | None) -> None:
        if collector is not None and collector in collector.sub.collectors:
            collector.sub.collectors.remove(collector)
            self.gateway.broker.release(collector.sub)

    @property
    def detached_count(self) -> int:
        return sum(1 for r in self._records.values() if r.owner is None)
