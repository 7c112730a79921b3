"""Web-app side of the memory transport: record the events, hand them to this process's gateways."""

from __future__ import annotations

from collections.abc import Sequence

from telegraphy import testing
from telegraphy.config import Config
from telegraphy.events import Event
from telegraphy.proxy import Proxy

from . import MemoryOptions, listeners


class MemoryProxy(Proxy):
    """Publishing never fails for lack of a gateway: the outbox is the destination a test looks at."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        options: MemoryOptions = config.transport.options
        self.channel = options.channel

    def publish_many(self, events: Sequence[Event]) -> None:
        payloads = [event.encode() for event in events]  # an event JSON cannot carry fails here, as elsewhere
        testing.record([Event.decode(payload) for payload in payloads])  # what a browser would get
        for representative in listeners(self.channel):
            representative.hand_over(payloads)
