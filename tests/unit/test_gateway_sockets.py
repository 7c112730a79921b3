"""DirectWriter on a real socket pair and Twisted's own FileDescriptor buffer (no reactor running).

These fail if Twisted changes the buffer fields the direct path reads: then frames could overtake
what the transport still holds, so the direct path must be noticed, not silently kept.
"""

from __future__ import annotations

import socket

import pytest
from twisted.internet.abstract import FileDescriptor
from twisted.internet.testing import MemoryReactor

from telegraphy.gateway.sockets import DirectWriter


class Transport(FileDescriptor):
    """Twisted's FileDescriptor (the base of every TCP transport) around one end of a socket pair."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(reactor=MemoryReactor())
        self.socket, self.connected = sock, 1

    def getHandle(self):  # noqa: N802 - Twisted's name
        return self.socket

    def writeSomeData(self, data):  # noqa: N802 - Twisted's name (tcp.Connection's, EAGAIN included)
        try:
            return self.socket.send(data)
        except BlockingIOError:
            return 0


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.settimeout(2)
    yield Transport(a), b
    a.close()
    b.close()


def test_twisted_still_has_the_buffer_fields_the_direct_path_reads(pair):
    transport, _ = pair
    writer = DirectWriter(transport)
    assert writer.socket is transport.socket and writer.idle()
    transport.write(b"held")
    assert not writer.idle()


def test_an_idle_transport_gets_the_frame_in_one_send(pair):
    transport, peer = pair
    writer = DirectWriter(transport)
    writer.write(b"frame-1")
    assert peer.recv(100) == b"frame-1" and writer.direct == 1 and writer.idle()


def test_frames_never_overtake_what_the_transport_holds(pair):
    transport, peer = pair
    writer = DirectWriter(transport)
    transport.write(b"first ")  # e.g. autobahn's pong, not yet written by the reactor
    writer.write(b"second")
    assert writer.direct == 0
    transport.doWrite()  # the reactor's turn
    assert peer.recv(100) == b"first second"


def test_what_the_kernel_does_not_take_is_handed_to_the_transport_in_order(pair):
    transport, peer = pair
    transport.socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    writer = DirectWriter(transport)
    big = bytes(range(256)) * 4096  # 1 MiB: more than the kernel takes at once
    writer.write(big)
    writer.write(b"after")
    assert not writer.idle()
    received = bytearray()
    while len(received) < len(big) + 5:
        transport.doWrite()
        try:
            received += peer.recv(65536)
        except TimeoutError:
            break
    assert bytes(received) == big + b"after"
