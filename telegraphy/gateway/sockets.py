"""Writing prepared frames to a client's TCP socket with one system call.

Twisted's ``transport.write`` appends to a buffer and asks the reactor to watch the socket for
writability, then writes on the next turn and stops watching: two ``epoll_ctl`` calls and a turn
of delay per receiver of every event. When the transport holds nothing unwritten, a frame can go
straight to the socket instead; what the kernel does not take is handed to the transport, and from
then on every write goes through it, in order, until it has written everything.

Whether the transport holds anything is read from the buffer fields of Twisted's
``FileDescriptor`` (``dataBuffer``, ``offset``, ``_tempDataLen``), which Twisted has kept since its
first releases but does not document; tests/unit/test_gateway_sockets.py fails if that changes,
and without those fields every write simply goes through the transport.
"""

from __future__ import annotations

import socket

from twisted.internet.interfaces import ISSLTransport

_FIELDS = ("dataBuffer", "offset", "_tempDataLen")


class DirectWriter:
    """Writes whole frames to ``transport``, straight to its socket when nothing waits before them."""

    __slots__ = ("transport", "socket", "direct")

    def __init__(self, transport) -> None:
        self.transport = transport
        handle = None if ISSLTransport.providedBy(transport) else getattr(transport, "getHandle", lambda: None)()
        usable = isinstance(handle, socket.socket) and all(hasattr(transport, f) for f in _FIELDS)
        self.socket = handle if usable else None
        self.direct = 0  # frames written with one send

    def idle(self) -> bool:
        """Whether the transport has written everything it was given."""
        t = self.transport
        return not t._tempDataLen and t.offset == len(t.dataBuffer)

    def write(self, frame: bytes) -> None:
        if self.socket is not None and self.idle():
            try:
                sent = self.socket.send(frame)
            except OSError:  # full (EAGAIN) or broken: the transport finds out and reports it
                sent = 0
            if sent == len(frame):
                self.direct += 1
                return
            frame = frame[sent:]
        self.transport.write(frame)
