"""The bare Twisted + Autobahn broadcaster: our stack's own ceiling for fan-out.

    python bare_broadcaster.py PORT

Every WebSocket message a connection sends is prepared once (``prepareMessage``) and that frame is sent to
every other connection (``sendPreparedMessage``): no WAMP, no routing, no queues, no flow control. Runs in
its own virtual environment with the project's Twisted and Autobahn versions; ends when stdin closes.
"""

import os
import signal
import sys

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from twisted.internet import reactor, stdio
from twisted.protocols.basic import LineReceiver


class Relay(WebSocketServerProtocol):
    def onOpen(self):
        self.factory.clients.add(self)

    def onClose(self, wasClean, code, reason):
        self.factory.clients.discard(self)

    def onMessage(self, payload, isBinary):
        prepared = self.factory.prepareMessage(payload, isBinary)
        for client in self.factory.clients:
            if client is not self:
                client.sendPreparedMessage(prepared)


class StopWhenStdinCloses(LineReceiver):
    def connectionLost(self, reason=None):
        if reactor.running:
            reactor.stop()


def main() -> None:
    signal.alarm(int(os.environ.get("BENCH_MAX_SECONDS", "900")))
    port = int(sys.argv[1])
    factory = WebSocketServerFactory(f"ws://127.0.0.1:{port}")
    factory.protocol, factory.clients = Relay, set()
    factory.setProtocolOptions(autoPingInterval=0, perMessageCompressionAccept=lambda offers: None)
    reactor.listenTCP(port, factory, backlog=1024, interface="127.0.0.1")
    stdio.StandardIO(StopWhenStdinCloses())
    print("ready", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
