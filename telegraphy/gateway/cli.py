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
    return parser


def run(config, host: str | None = None, port: int | None = None, log_level: str = "info") -> int:
    """Run a gateway for ``config`` in this process; returns the exit code."""
    import dataclasses

    from twisted.internet import reactor
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
        gateway = Gateway(config, reactor)
    except TelegraphyError as exc:
        print(f"telegraphy-gateway: {exc}", file=sys.stderr)
        return 2
    failed = []

    def start():
        d = gateway.startService()

        def fail(failure):
            failed.append(failure)
            print(f"telegraphy-gateway: cannot start: {failure.getErrorMessage()}", file=sys.stderr)
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
    return run(config, args.host, args.port, args.log_level)


if __name__ == "__main__":
    sys.exit(main())
