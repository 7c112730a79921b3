"""Gateway side of the RabbitMQ transport: pika's Twisted adapter in the reactor, no threads.

It declares the exchange and this gateway's queue, consumes with a bounded prefetch, acknowledges
each message only once the gateway has taken the event, and reconnects with backoff when the
broker goes away.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from pika.adapters.twisted_connection import TwistedProtocolConnection
from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.internet.protocol import Factory
from twisted.python.failure import Failure

from telegraphy.config import Config
from telegraphy.errors import MissingDependency
from telegraphy.representative import Representative

from . import RabbitMQOptions
from .proxy import describe, parameters


def backoff(attempt: int, initial: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before attempt ``attempt + 1``: doubling up to ``cap``, half of it random ("equal jitter"),
    so gateways that lost the same broker do not all come back at the same instant."""
    step = min(cap, initial * 2 ** min(attempt, 32))
    return step / 2 + rand() * step / 2


class _Once(Factory):
    """Hands the endpoint our one pika protocol, quietly (no "Starting factory" line per connection)."""

    noisy = False

    def __init__(self, protocol: TwistedProtocolConnection) -> None:
        self.protocol = protocol

    def buildProtocol(self, addr):  # noqa: N802 - Twisted's name
        return self.protocol


class RabbitMQRepresentative(Representative):
    """Consumes the gateway's queue; ``state`` is connecting, running, reconnecting or stopped."""

    name = "rabbitmq"

    def __init__(self, config: Config, reactor: Any = None) -> None:
        super().__init__(config, reactor)
        self.options: RabbitMQOptions = config.transport.options
        self.address = self.options.broker.address
        self.queue: str | None = None  # the queue consumed (server-named when no queue is configured)
        self.reconnects = 0  # connections made again after a loss
        self._connected = False  # has it ever consumed?
        self.redelivered = 0  # messages the broker delivered again (after a restart or a lost connection)
        self.failed = 0  # events the gateway raised on: rejected without requeue (dead-lettered if set up)
        self._tls = self._tls_creator() if self.options.tls is not None else None
        self._protocol: TwistedProtocolConnection | None = None
        self._session: defer.Deferred | None = None
        self._ended_waiters: list[defer.Deferred] = []
        self._retry = None
        self._attempt = 0
        self._stopping = self._closing = False
        self._ack_channel, self._ack_tag, self._unacked, self._ack_call = None, 0, 0, None

    # -- lifecycle ------------------------------------------------------------------------------
    def _start(self) -> None:
        """Begin connecting; the gateway serves meanwhile, /health says 503 until the queue is consumed."""
        self._stopping = False
        self.state = "connecting"
        self._connect()

    def _stop(self) -> defer.Deferred | None:
        self._stopping = True
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._session is None:
            self.state = "stopped"
            return None
        ended = defer.Deferred()
        self._ended_waiters.append(ended)
        protocol = self._protocol
        if protocol is not None and protocol.is_open:
            self._flush_acks()  # what the gateway has taken is not redelivered to the next consumer
            self._closing = True
            protocol.close()  # the rest goes back to the queue
        else:
            self._session.cancel()
        return ended.addTimeout(self.options.timeout, self.reactor).addErrback(self._abort_on_timeout)

    def _abort_on_timeout(self, failure: Failure) -> None:
        failure.trap(defer.TimeoutError)
        self.log.warn("rabbitmq: no answer from {address} while closing; connection dropped", address=self.address)
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.abortConnection()
        self.state = "stopped"

    def _connect(self) -> None:
        self._retry, self._closing = None, False
        self._session = self._consume()
        self._session.addBoth(self._ended)

    def _ended(self, result: Any) -> None:
        self._flush_acks()  # a no-op when the channel is gone: those messages come again (at-least-once)
        protocol, self._protocol, self._session = self._protocol, None, None
        if protocol is not None and protocol.transport is not None and not protocol.is_closed and not self._closing:
            protocol.transport.abortConnection()  # a half-open or broken connection
        if self._stopping:
            self.state = "stopped"
            self.log.info("rabbitmq: stopped consuming from {address}", address=self.address)
            waiters, self._ended_waiters = self._ended_waiters, []
            for waiter in waiters:
                waiter.callback(None)
            return
        reason = describe(result.value) if isinstance(result, Failure) else "the connection ended"
        if "in exclusive use" in reason:
            reason += " (another gateway consumes this queue: give each gateway its own queue name)"
        self.state = "reconnecting" if self._connected else "connecting"
        delay = backoff(self._attempt, self.options.reconnect_delay, self.options.reconnect_max_delay)
        self._attempt += 1
        self.log.warn("rabbitmq: {address}: {reason}; attempt {attempt} in {delay:.2f}s", address=self.address,
                      reason=reason, attempt=self._attempt + 1, delay=delay)
        self._retry = self.reactor.callLater(delay, self._connect)

    # -- one connection, from connect to close --------------------------------------------------
    @defer.inlineCallbacks
    def _consume(self):
        options = self.options
        protocol = self._protocol = TwistedProtocolConnection(parameters(options, "gateway"),
                                                              custom_reactor=self.reactor)
        yield self._bounded(self._endpoint().connect(_Once(protocol)))
        yield self._bounded(protocol.ready)
        channel = yield self._bounded(protocol.channel())
        exchange, named = options.exchange, bool(options.queue)
        yield self._bounded(channel.exchange_declare(exchange=exchange, exchange_type=options.exchange_type,
                                                     durable=True))
        # A named queue is durable and outlives this gateway (events wait in it while it restarts);
        # otherwise the broker names an exclusive queue that goes away with the connection.
        declared = yield self._bounded(channel.queue_declare(queue=options.queue, durable=named,
                                                             exclusive=not named, auto_delete=not named))
        self.queue = declared.method.queue
        for key in options.bindings if options.exchange_type == "topic" else ("",):
            yield self._bounded(channel.queue_bind(queue=self.queue, exchange=exchange, routing_key=key))
        yield self._bounded(channel.basic_qos(prefetch_count=options.prefetch))
        # exclusive: a second gateway configured with the same queue name is refused instead of
        # silently taking every other event.
        messages, _tag = yield self._bounded(channel.basic_consume(queue=self.queue, exclusive=named))
        if self._connected:
            self.reconnects += 1
        self._connected = True
        self._attempt = 0
        self.state = "running"
        self.log.info("rabbitmq: consuming queue {queue} bound to {kind} exchange {exchange} on {address}",
                      queue=self.queue, kind=options.exchange_type, exchange=exchange, address=self.address)
        while not self._stopping:
            message = yield messages.get()  # fails when the channel or the connection closes
            if self._stopping:
                break  # not acknowledged: the broker gives it to the next consumer of the queue
            self._take(channel, message)

    def _take(self, channel, message) -> None:
        """Hand one message to the gateway; acknowledge it once the gateway has it."""
        tag = message.method.delivery_tag
        if message.method.redelivered:
            self.redelivered += 1
        try:
            self.receive(message.body)  # False for a malformed envelope: acknowledged, counted as rejected
        except Exception:  # noqa: BLE001 - a gateway bug must not stop the transport
            self.failed += 1
            self.log.failure("rabbitmq: the gateway failed on an event; rejected without requeue")
            self._flush_acks()
            channel.basic_reject(delivery_tag=tag, requeue=False)
            return
        # One ack (multiple=True) per burst of messages read together, sent at the end of this reactor
        # turn, or sooner when half the prefetch window waits for it.
        self._ack_channel, self._ack_tag = channel, tag
        self._unacked += 1
        if self._unacked >= max(1, self.options.prefetch // 2):
            self._flush_acks()
        elif self._ack_call is None:
            self._ack_call = self.reactor.callLater(0, self._flush_acks)

    def _flush_acks(self) -> None:
        if self._ack_call is not None and self._ack_call.active():
            self._ack_call.cancel()
        self._ack_call = None
        if self._unacked and self._ack_channel.is_open:
            self._ack_channel.basic_ack(delivery_tag=self._ack_tag, multiple=True)
        self._unacked = 0

    def _bounded(self, d: defer.Deferred) -> defer.Deferred:
        return d.addTimeout(self.options.timeout, self.reactor)

    def _endpoint(self):
        broker = self.options.broker
        endpoint = HostnameEndpoint(self.reactor, broker.host, broker.port, timeout=self.options.timeout)
        return endpoint if self._tls is None else wrapClientTLS(self._tls, endpoint)

    def _tls_creator(self):
        """Twisted's TLS client options from ``tls`` (Twisted needs pyOpenSSL for TLS)."""
        try:
            from twisted.internet import ssl
        except ImportError as exc:
            raise MissingDependency("amqps:// in the gateway needs pyOpenSSL: pip install 'twisted[tls]'") from exc
        tls = self.options.tls
        client = None
        if tls.cert_file:
            with open(tls.cert_file, "rb") as cert, open(tls.key_file or tls.cert_file, "rb") as key:
                client = ssl.PrivateCertificate.loadPEM(cert.read() + b"\n" + key.read())
        if not tls.verify:
            return ssl.CertificateOptions(verify=False, privateKey=client and client.privateKey.original,
                                          certificate=client and client.original)
        trust = None
        if tls.ca_file:
            end = b"-----END CERTIFICATE-----"
            with open(tls.ca_file, "rb") as fh:
                pems = [block + end for block in fh.read().split(end) if b"-----BEGIN CERTIFICATE-----" in block]
            trust = ssl.trustRootFromCertificates([ssl.Certificate.loadPEM(pem) for pem in pems])
        return ssl.optionsForClientTLS(self.options.broker.host, trustRoot=trust, clientCertificate=client)

    # -- reporting ------------------------------------------------------------------------------
    def status(self) -> dict:
        return {**super().status(), "broker": self.address, "queue": self.queue, "reconnects": self.reconnects,
                "redelivered": self.redelivered, "failed": self.failed}

