"""Web-app side of the RabbitMQ transport: pika's BlockingConnection, one per thread and per process."""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import Sequence
from typing import Any

import pika
import pika.channel
from pika import exceptions as amqp
from pika.adapters.blocking_connection import BlockingChannel
from pika.adapters.utils.connection_workflow import AMQPConnectorException, AMQPConnectorStackTimeout
from pika.spec import Basic

from telegraphy.config import Config
from telegraphy.errors import GatewayUnavailable, PluginError, PublishError
from telegraphy.events import Event
from telegraphy.proxy import Proxy

from . import RabbitMQOptions, TlsOptions

# Failures reach the caller as Telegraphy errors (and the gateway logs through twisted.logger), so keep
# pika's own records from Python's last-resort stderr handler; an app that configures logging still gets them.
logging.getLogger("pika").addHandler(logging.NullHandler())

PERSISTENT = 2


def parameters(options: RabbitMQOptions, role: str, **bounds: Any) -> pika.ConnectionParameters:
    """Credentials, vhost, heartbeat and TLS for either side; the password goes to pika and nowhere else."""
    broker, tls = options.broker, options.tls
    return pika.ConnectionParameters(
        host=broker.host, port=broker.port, virtual_host=broker.vhost,
        credentials=pika.PlainCredentials(broker.username, broker.password),
        heartbeat=options.heartbeat, ssl_options=None if tls is None else pika.SSLOptions(
            ssl_context(tls), server_hostname=broker.host),
        client_properties={"connection_name": f"telegraphy {role} pid {os.getpid()}"}, **bounds)


def ssl_context(tls: TlsOptions) -> ssl.SSLContext:
    """The web app's TLS settings from ``tls`` (the gateway's are Twisted's, in the representative)."""
    context = ssl.create_default_context(cafile=tls.ca_file)
    if tls.cert_file:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    if not tls.verify:
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    return context


def describe(exc: BaseException) -> str:
    """A one-line reason from a pika or socket error (pika never puts the password in these)."""
    reasons = "; ".join(str(arg) for arg in getattr(exc, "args", ()) if str(arg)) or str(exc)
    return f"{type(exc).__name__}: {reasons}" if reasons else type(exc).__name__


def _nothing() -> None:
    pass


class _Unconfirmed(Exception):
    """The broker did not answer in time (a half-open connection or a stalled broker)."""


def pipelining_channel(blocking: BlockingChannel) -> pika.channel.Channel:
    """The channel under pika's BlockingChannel: the one private pika API this transport uses.

    BlockingChannel waits for each publisher confirm in turn (about 1,300 confirmed events/s on the
    benchmark machine); publishing on the channel underneath it (``_impl``, there since pika 0.10) sends
    a batch in one write and waits once for all its confirms (12,000/s in batches of 100), and lets us
    count acks, nacks and returns ourselves. ``test_rabbitmq.py`` checks this on every run, so a pika
    release that changes it fails loudly there rather than in a web app.
    """
    channel = getattr(blocking, "_impl", None)
    if not isinstance(channel, pika.channel.Channel):
        raise PluginError(f"pika {pika.__version__} has no BlockingChannel._impl channel, which the RabbitMQ "
                          "transport publishes on: install pika 1.3 (pip install 'pika>=1.3,<2') or a newer "
                          "telegraphy")
    return channel


class _Link:
    """One connection and channel of one thread, publishing batches with one confirm wait each."""

    def __init__(self, connection: pika.BlockingConnection, options: RabbitMQOptions) -> None:
        self.connection = connection
        self.exchange, self.timeout = options.exchange, options.timeout
        self.blocking = connection.channel()
        self.blocking.exchange_declare(self.exchange, options.exchange_type, durable=True)
        self.channel = pipelining_channel(self.blocking)
        self.confirm = options.confirm
        self.properties = pika.BasicProperties(delivery_mode=PERSISTENT, content_type="application/json")
        self.unconfirmed: set[int] = set()
        self.next_tag = 1
        self.nacked = self.returned = 0
        self.broken = False
        if self.confirm:
            selected: list[bool] = []
            self.channel.add_on_return_callback(self._on_return)
            self.channel.confirm_delivery(ack_nack_callback=self._on_confirm,
                                          callback=lambda _frame: self._done(selected))
            self._wait(lambda: selected, time.monotonic() + self.timeout)

    def publish(self, batch: list[tuple[str, bytes]]) -> None:
        """Send the batch; with confirms, return once the broker has taken every event of it."""
        if not self.confirm:
            *first, (routing_key, body) = batch
            for key, payload in first:
                self.channel.basic_publish(self.exchange, key, payload, self.properties)
            # The blocking channel writes everything out, and notices a connection the broker closed.
            self.blocking.basic_publish(self.exchange, routing_key, body, self.properties)
            return
        for routing_key, body in batch:
            self.channel.basic_publish(self.exchange, routing_key, body, self.properties, True)
        self.unconfirmed.update(range(self.next_tag, self.next_tag + len(batch)))
        self.next_tag += len(batch)
        self.nacked = self.returned = 0
        self._wait(lambda: not self.unconfirmed, time.monotonic() + self.timeout)
        if self.nacked:
            raise PublishError(f"RabbitMQ refused {self.nacked} of {len(batch)} events (nack) on exchange "
                               f"{self.exchange!r}")
        if self.returned:
            raise PublishError(f"{self.returned} of {len(batch)} events reached no queue: nothing is bound to "
                               f"exchange {self.exchange!r} (no gateway is running, and none has a named queue)")

    def _wait(self, done, deadline: float) -> None:
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                self.broken = True
                raise _Unconfirmed(f"no answer from the broker within {self.timeout}s")
            self.connection.process_data_events(time_limit=left)

    def _done(self, flag: list) -> None:
        flag.append(True)
        self.connection.call_later(0, _nothing)  # ends process_data_events now rather than at its time limit

    def _on_confirm(self, frame) -> None:
        method = frame.method
        settled = ({t for t in self.unconfirmed if t <= method.delivery_tag} if method.multiple
                   else {method.delivery_tag})
        self.unconfirmed -= settled
        if isinstance(method, Basic.Nack):
            self.nacked += len(settled)
        if not self.unconfirmed:
            self._done([])

    def _on_return(self, _channel, _method, _properties, _body) -> None:
        self.returned += 1  # Basic.Return comes before the message's ack

    def close(self) -> None:
        """Close politely, once the broker has routed what we sent; bounded, like everything here."""
        if self.broken or not self.connection.is_open:
            return  # dropping the object closes the socket
        # RabbitMQ drops publishes it has read but not yet routed when a connection just ends (as at
        # process exit), and a reply on the channel comes only after them; no reply in time: just drop it.
        replied: list[bool] = []
        self.channel.basic_qos(prefetch_count=0, callback=lambda _frame: self._done(replied))
        self._wait(lambda: replied, time.monotonic() + self.timeout)
        self.connection.close()


class RabbitMQProxy(Proxy):
    """Publishes persistent JSON messages to the exchange; routing key = event name."""

    # A connection that broke under us (broker restart, idle connection closed, network): reconnect and resend.
    connection_errors = (amqp.AMQPConnectionError, amqp.ChannelWrongStateError, amqp.ChannelClosed, OSError)
    timeout_errors = (_Unconfirmed,)

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.options: RabbitMQOptions = config.transport.options
        self.address = self.options.broker.address

    def publish_many(self, events: Sequence[Event]) -> None:
        batch = [(event.name, event.encode()) for event in events]  # the name is the routing key
        if batch:
            self._with_connection(batch)

    def _open(self) -> _Link:
        options = self.options
        timeout = options.timeout
        params = parameters(options, "proxy", connection_attempts=1, retry_delay=0, socket_timeout=timeout,
                            stack_timeout=timeout, blocked_connection_timeout=timeout)
        try:
            connection = pika.BlockingConnection(params)
        except amqp.ProbableAuthenticationError:
            raise GatewayUnavailable(f"RabbitMQ at {self.address} refused the login of user "
                                     f"{options.broker.username!r} (check the url's credentials)") from None
        except AMQPConnectorStackTimeout:
            raise GatewayUnavailable(f"RabbitMQ at {self.address} is unavailable: no AMQP handshake within "
                                     f"{timeout}s") from None
        except (amqp.AMQPError, AMQPConnectorException, OSError) as exc:
            raise GatewayUnavailable(f"RabbitMQ at {self.address} is unavailable: {describe(exc)}") from None
        try:
            return _Link(connection, options)
        except amqp.ChannelClosedByBroker as exc:
            connection.close()
            raise PublishError(f"RabbitMQ at {self.address} refused exchange {options.exchange!r} as a "
                               f"durable {options.exchange_type} exchange: {exc.reply_text}") from None
        except (amqp.AMQPError, OSError, _Unconfirmed) as exc:
            raise GatewayUnavailable(f"RabbitMQ at {self.address} is unavailable: {describe(exc)}") from None

    def _send(self, link: _Link, batch: list[tuple[str, bytes]]) -> None:
        link.publish(batch)

    def _unavailable(self, exc: BaseException) -> GatewayUnavailable:
        if isinstance(exc, _Unconfirmed):
            return GatewayUnavailable(f"RabbitMQ at {self.address} did not confirm the events: {exc}")
        return GatewayUnavailable(f"RabbitMQ at {self.address} is unavailable: {describe(exc)}")

    def _close(self, link: _Link) -> None:
        link.close()
