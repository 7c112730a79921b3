"""``telegraphy-gateway --config telegraphy.yaml``: run the gateway until SIGTERM or Ctrl-C.

:func:`run` is the public way to run a gateway in this process, and :data:`OPTIONS` the command-line
options every way of starting one offers (``telegraphy-gateway``, ``manage.py run_telegraph``,
``flask telegraphy gateway``), declared once here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import config as config_module
from ..errors import TelegraphyError

if TYPE_CHECKING:
    from ..config import Config

LOG_LEVELS = ("debug", "info", "warn", "error")


@dataclass(frozen=True)
class Option:
    """One command-line option of every gateway command; ``dest`` is the keyword :func:`run` takes."""

    flag: str
    dest: str
    help: str
    type: type = str
    default: Any = None
    choices: tuple[str, ...] | None = None


OPTIONS: tuple[Option, ...] = (
    Option("--host", "host", "listen on this address instead of gateway.listen.host"),
    Option("--port", "port", "listen on this port instead of gateway.listen.port", type=int),
    Option("--log-level", "log_level", "the least important messages logged", default="info", choices=LOG_LEVELS),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add :data:`OPTIONS` to an argparse parser (Django's management commands use argparse too)."""
    for option in OPTIONS:
        parser.add_argument(option.flag, dest=option.dest, type=option.type, default=option.default,
                            choices=option.choices, help=option.help)


def run_options(values: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of :func:`run` among parsed ``values`` (Django's and click's option dicts hold more)."""
    return {option.dest: values.get(option.dest, option.default) for option in OPTIONS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telegraphy-gateway", description="Run the Telegraphy gateway.")
    parser.add_argument("--config", "-c", help="the shared YAML config (default: $TELEGRAPHY_CONFIG)")
    add_arguments(parser)
    parser.add_argument("--ready-file", help="once serving, write the bound addresses here as JSON (a port given "
                                             "as 0 is picked by the OS; for tests and supervisors)")
    return parser


def run(config: Config, host: str | None = None, port: int | None = None, log_level: str = "info",
        ready_file: str | None = None) -> int:
    """Run a gateway for ``config`` in this process until SIGTERM or Ctrl-C; returns the exit code.

    ``host`` and ``port`` override ``gateway.listen`` (browsers still connect to ``gateway.url``).
    ``ready_file``: once serving, the bound addresses are written there (see :func:`write_ready_file`).
    SIGHUP reloads the config file (see :meth:`Gateway.reconfigure`). It runs the Twisted reactor
    (``twisted.internet.task.react`` hands it over), so call it once per process, from the main thread.
    """
    from twisted.internet import task
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    if log_level not in LOG_LEVELS:
        raise ValueError(f"log_level must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(log_level))
    globalLogBeginner.beginLoggingTo([FilteringLogObserver(textFileLogObserver(sys.stdout), [predicate])],
                                     redirectStandardIO=False)
    try:
        task.react(_serve, (_listen_on(config, host, port), host, port, ready_file))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    return 0


def _listen_on(config: Config, host: str | None, port: int | None) -> Config:
    """``config`` with the command line's ``--host``/``--port`` in place of ``gateway.listen``."""
    import dataclasses

    if not host and port is None:
        return config
    gw = dataclasses.replace(config.gateway, host=host or config.gateway.host,
                             port=config.gateway.port if port is None else port)
    return dataclasses.replace(config, gateway=gw)


def write_ready_file(path: str, gateway) -> None:
    """Where the gateway listens and what web apps need to reach its transport, as JSON, replaced atomically
    so a reader never sees half of it (ports given as 0 in the config are the ones the OS picked)."""
    import json
    import os

    address = gateway.port.getHost()
    ready = {"pid": os.getpid(), "gateway": {"host": address.host, "port": address.port},
             "transport": {"name": gateway.config.transport.name,
                           "options": gateway.representative.web_app_options()}}
    with open(f"{path}.tmp", "w", encoding="utf-8") as fh:
        json.dump(ready, fh)
    os.replace(f"{path}.tmp", path)


def _serve(reactor, config: Config, host: str | None, port: int | None, ready_file: str | None = None):
    """Start a gateway on ``reactor``; the Deferred fails (SystemExit with the exit code) only if it cannot start."""
    import signal

    from twisted.internet import defer
    from twisted.internet.error import CannotListenError
    from twisted.logger import Logger

    from .service import Gateway

    log = Logger(namespace="telegraphy.gateway")
    try:
        gateway = Gateway(config, reactor)
    except TelegraphyError as exc:
        print(f"telegraphy-gateway: {exc}", file=sys.stderr)
        return defer.fail(SystemExit(2))  # task.react exits 0 for any result: the code travels as SystemExit
    failed = defer.Deferred()

    def cannot_start(failure) -> None:
        message = failure.getErrorMessage()
        if failure.check(CannotListenError):  # the transport names its own port's key (a ConfigError)
            gw, error = config.gateway, failure.value.socketError
            message = (f"{config.source}, key 'gateway.listen.port': cannot listen on {gw.host}:{gw.port}: "
                       f"{getattr(error, 'strerror', None) or error}: change gateway.listen.port (or --port)")
        print(f"telegraphy-gateway: cannot start: {message}", file=sys.stderr)
        failed.errback(SystemExit(1))

    def started(_) -> None:
        if ready_file:
            write_ready_file(ready_file, gateway)

    def reload() -> None:
        """SIGHUP: read the config file again; a config that does not validate changes nothing."""
        try:
            new = _listen_on(config_module.load(config.source), host, port)
        except TelegraphyError as exc:
            log.error("config not reloaded, the one in force stays: {error}", error=exc)
            return
        needs_restart = gateway.reconfigure(new)
        log.info("config reloaded from {source} (generation {generation})", source=config.source,
                 generation=gateway.generation)
        for key in needs_restart:
            log.warn("{key} changed in {source}: it takes effect only when the gateway restarts", key=key,
                     source=config.source)

    reactor.callWhenRunning(lambda: gateway.startService().addCallback(started).addErrback(cannot_start))
    reactor.addSystemEventTrigger("before", "shutdown", lambda: gateway.stopService() if gateway.running else None)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda *_: reactor.callFromThread(reload))
    return failed


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_module.load(args.config)
    except TelegraphyError as exc:
        print(f"telegraphy-gateway: {exc}", file=sys.stderr)
        return 2
    return run(config, **run_options(vars(args)), ready_file=args.ready_file)


if __name__ == "__main__":
    sys.exit(main())
