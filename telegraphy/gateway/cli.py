"""``telegraphy-gateway --config telegraphy.yaml``: run the gateway until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from .. import config as config_module
from ..errors import TelegraphyError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telegraphy-gateway", description="Run the Telegraphy gateway.")
    parser.add_argument("--config", "-c", help="the shared YAML config (default: $TELEGRAPHY_CONFIG)")
    parser.add_argument("--host", help="listen on this address instead of gateway.listen.host")
    parser.add_argument("--port", type=int, help="listen on this port instead of gateway.listen.port")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warn", "error"])
    parser.add_argument("--ready-file", help="once serving, write the bound addresses here as JSON (a port given "
                                             "as 0 is picked by the OS; tests read it)")
    return parser


def write_ready_file(path: str, gateway) -> None:
    """Where the gateway listens and what web apps need to reach its transport, as JSON, replaced atomically
    so a reader never sees half of it."""
    import json
    import os

    address = gateway.port.getHost()
    ready = {"pid": os.getpid(), "gateway": {"host": address.host, "port": address.port},
             "transport": {"name": gateway.config.transport.name,
                           "options": gateway.representative.web_app_options()}}
    with open(f"{path}.tmp", "w", encoding="utf-8") as fh:
        json.dump(ready, fh)
    os.replace(f"{path}.tmp", path)


def run(config, host: str | None = None, port: int | None = None, log_level: str = "info",
        ready_file: str | None = None) -> int:
    """Run a gateway for ``config`` in this process; returns the exit code."""
    import dataclasses

    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    from .service import Gateway

    if host or port is not None:
        gw = dataclasses.replace(config.gateway, host=host or config.gateway.host,
                                 port=config.gateway.port if port is None else port)
        config = dataclasses.replace(config, gateway=gw)
    predicate = LogLevelFilterPredicate(defaultLogLevel=LogLevel.levelWithName(log_level))
    globalLogBeginner.beginLoggingTo([FilteringLogObserver(textFileLogObserver(sys.stdout), [predicate])],
                                     redirectStandardIO=False)
    try:
        gateway = Gateway(config)
    except TelegraphyError as exc:
        print(f"telegraphy-gateway: {exc}", file=sys.stderr)
        return 2
    failed = []

    def start():
        d = gateway.startService()
        if ready_file:
            d.addCallback(lambda _: write_ready_file(ready_file, gateway))

        def fail(failure):
            failed.append(failure)
            message = failure.getErrorMessage()
            if failure.check(CannotListenError):
                gw, error = config.gateway, failure.value.socketError
                message = (f"{config.source}, key 'gateway.listen.port': cannot listen on {gw.host}:{gw.port}: "
                           f"{getattr(error, 'strerror', None) or error}: change gateway.listen.port (or --port)")
            print(f"telegraphy-gateway: cannot start: {message}", file=sys.stderr)
            reactor.stop()
        d.addErrback(fail)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", lambda: gateway.stopService() if gateway.running else None)
    reactor.run()
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_module.load(args.config)
    except TelegraphyError as exc:
        print(f"telegraphy-gateway: {exc}", file=sys.stderr)
        return 2
    return run(config, args.host, args.port, args.log_level, args.ready_file)


if __name__ == "__main__":
    sys.exit(main())
