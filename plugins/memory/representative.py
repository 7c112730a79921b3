"""Gateway side of the memory transport: events published in this process, delivered in the reactor."""

from __future__ import annotations

from typing import Any

from telegraphy.config import Config
from telegraphy.representative import Representative

from . import MemoryOptions, listen, stop_listening


class MemoryRepresentative(Representative):
    name = "memory"

    def __init__(self, config: Config, reactor: Any = None) -> None:
        super().__init__(config, reactor)
        options: MemoryOptions = config.transport.options
        self.channel = options.channel

    def _start(self) -> None:
        listen(self.channel, self)
        self.state = "running"
        self.log.info("memory: receiving events published in this process on channel {channel}",
                      channel=self.channel)

    def _stop(self) -> None:
        stop_listening(self.channel, self)
        self.state = "stopped"

    def hand_over(self, payloads: list[bytes]) -> None:
        """Called by a publishing thread: the events are delivered in the reactor thread, in order."""
        self.reactor.callFromThread(self._receive_all, payloads)

    def _receive_all(self, payloads: list[bytes]) -> None:
        for payload in payloads:
            self.receive(payload)

    def status(self) -> dict:
        return {**super().status(), "channel": self.channel}
