"""Sessions that survive a reconnect: resume secrets, persistent subscriptions, what was missed.

Standard WAMP clients (AutobahnJS, autobahn-python) know nothing of subscriptions restored by a
server, so a resumed client subscribes again and the gateway replays, on that new subscription and
before any live event, what the old session missed: from the topic's history, and from what its
``persistent`` subscriptions collected while it was away (each a watcher of the hub's subscription).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from twisted.internet import task
from twisted.logger import Logger

from ..config import Config, EventPolicy
from .access import Access
from .auth import Identity
from .history import Entry, History
from .hub import Hub, Subscription, topic_matcher


class ResumeRefused(Exception):
    """The previous session named cannot be resumed; the message says why."""


class Collector:
    """Keeps the events of one persistent subscription while its session is away (bounded)."""

    def __init__(self, identity: Identity, limit: int, access: Access) -> None:
        self.identity, self.access = identity, access
        self.entries: deque[Entry] = deque(maxlen=limit)
        self.overflowed = limit == 0

    def collect(self, entry: Entry, policy: EventPolicy) -> None:
        if self.access.can_receive(self.identity, entry.event, policy):
            if len(self.entries) == self.entries.maxlen:
                self.overflowed = True
            self.entries.append(entry)


@dataclass
class Detached:
    """What is kept of a session that went away, until it resumes or ``auth.resume_ttl`` passes."""

    identity: Identity
    mark: int  # position of the last event written to it
    expires: float
    # (topic, match, filter) -> the hub subscription and its collector if it was persistent
    subscriptions: dict[tuple, tuple[Subscription, Collector] | None] = field(default_factory=dict)


class Resumption:
    """Resume secrets of live sessions, and the records of sessions that are away."""

    log = Logger()

    def __init__(self, hub: Hub, history: History, access: Access, config: Callable[[], Config], reactor) -> None:
        self.hub, self.history, self.access, self._config, self.reactor = hub, history, access, config, reactor
        self._live: dict[str, object] = {}  # secret -> the session holding it
        self._away: OrderedDict[str, Detached] = OrderedDict()  # oldest first
        self.evicted = 0  # away sessions forgotten early because of limits.max_away_sessions
        self._pruner = task.LoopingCall(self.prune)
        self._pruner.clock = reactor

    def start(self) -> None:
        self._pruner.start(5.0, now=False)

    def stop(self) -> None:
        if self._pruner.running:
            self._pruner.stop()

    @property
    def away_count(self) -> int:
        return len(self._away)

    def begin(self, session, identity: Identity, previous: object) -> tuple[str, Detached | None, dict]:
        """A resume secret for ``session``; with ``previous``, that session's record, taken over.

        Returns (secret, record or None, what WELCOME's authextra says of the resumption).
        Raises ResumeRefused when ``previous`` cannot be resumed.
        """
        record, extra = None, {}
        if previous is not None:
            if isinstance(previous, str) and previous in self._live:
                raise ResumeRefused("the previous session is still connected")
            record = self._away.get(previous) if isinstance(previous, str) else None
            if record is None or record.expires < self.reactor.seconds():
                raise ResumeRefused("unknown or expired previous session: start a new one")
            if not self.access.can_resume(identity, record.identity):
                raise ResumeRefused("the previous session belongs to another user")
            del self._away[previous]
            gaps = self._gaps(record)
            extra = {"resumed": True, "recovered": not gaps, "gaps": gaps}
        secret = secrets.token_urlsafe(24)
        self._live[secret] = session
        return secret, record, extra

    def _gaps(self, record: Detached) -> list[str]:
        gaps: list[str] = []
        for (topic, match, _), held in record.subscriptions.items():
            if held is not None:
                complete = not held[1].overflowed
            else:
                complete = self.history.complete_after(record.mark, topic_matcher(topic, match),
                                                       topic if match == "exact" else None)
            if not complete and topic not in gaps:
                gaps.append(topic)
        return gaps

    def missed(self, record: Detached | None, sub: Subscription, since: tuple[str, int] | None,
               upto: int) -> list[Entry]:
        """What ``sub``, just subscribed, missed up to position ``upto`` (later events reach it live):
        from the resumed ``record`` and the client's own ``since`` (epoch, seq), which also covers
        events lost in a dying connection's buffers."""
        found: dict[int, Entry] = {}
        exact = sub.topic if sub.match == "exact" else None
        if record is not None and sub.key in record.subscriptions:
            held = record.subscriptions.pop(sub.key)
            found.update((e.seq, e) for e in self.history.after(record.mark, sub.matches, exact))
            if held is not None:
                held_sub, collector = held
                found.update((e.seq, e) for e in collector.entries if e.seq > record.mark)
                self.hub.unwatch(held_sub, collector)
        if since is not None:
            epoch, seq = since
            found.update((e.seq, e) for e in self.history.after(seq if epoch == self.history.epoch else 0,
                                                                sub.matches, exact))
        return [found[seq] for seq in sorted(found) if seq <= upto]

    def detach(self, session, secret: str | None, record: Detached | None, resumable: bool) -> None:
        """``session`` went away: keep what it needs to resume, and start its persistent collectors.

        ``record`` is what it took over and never took back (released now); a session that is not
        ``resumable`` (the client said GOODBYE, the web app disconnected it) keeps nothing.
        """
        if record is not None:
            self._release(record)
        if self._live.get(secret) is session:
            del self._live[secret]
        config = self._config()
        if secret is None or not resumable or config.auth.resume_ttl == 0:
            return
        away = Detached(session.identity, session.written, self.reactor.seconds() + config.auth.resume_ttl)
        for sub in session.subscriptions.values():
            held = None
            if sub.id in session.persistent:
                collector = Collector(session.identity, config.policy(sub.topic).persistent_limit, self.access)
                held = (self.hub.watch(sub.key, collector), collector)
            away.subscriptions[sub.key] = held
        self._away[secret] = away
        while len(self._away) > config.limits.max_away_sessions:
            _, oldest = self._away.popitem(last=False)
            self._release(oldest)
            self.evicted += 1

    def revoke_user(self, user: str | None) -> int:
        """Forget every away session of ``user`` (it may not resume); returns how many."""
        gone = [secret for secret, record in self._away.items() if record.identity.user == user]
        for secret in gone:
            self._release(self._away.pop(secret))
        return len(gone)

    def prune(self) -> None:
        now = self.reactor.seconds()
        for secret, record in list(self._away.items()):
            if record.expires < now:
                del self._away[secret]
                self._release(record)

    def _release(self, record: Detached) -> None:
        for held in record.subscriptions.values():
            if held is not None:
                self.hub.unwatch(*held)
        record.subscriptions.clear()
