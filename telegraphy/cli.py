"""The ``telegraphy`` command: check a config, list plugins, mint a token, publish, run the demo."""

from __future__ import annotations

import argparse
import json
import sys

from . import config as config_module
from .errors import TelegraphyError


def cmd_check(args) -> int:
    config = config_module.load(args.config)
    print(f"# {config.source}: valid", file=sys.stderr)
    print(config_module.dump(config), end="")
    return 0


def cmd_plugins(args) -> int:
    from .plugins import describe

    rows = describe()
    name_width = max((len(r["name"]) for r in rows), default=4)
    status_width = max((len(r["status"]) for r in rows), default=2)
    for row in rows:
        print(f"{row['kind']:<12} {row['name']:<{name_width}}  {row['status']:<{status_width}}  {row['description']}")
    return 0


def cmd_token(args) -> int:
    from .tokens import mint

    config = config_module.load(args.config)
    print(mint(config.auth, user=args.user, events=args.events or None, ttl=args.ttl))
    return 0


def cmd_publish(args) -> int:
    import telegraphy

    telegraphy.configure(args.config)
    data = json.loads(args.data) if args.data is not None else None
    event = telegraphy.publish(args.name, data, event_type=args.event_type, user=args.user)
    print(event.meta["id"])
    return 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.port, args.gateway_port, args.duration)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telegraphy", description="Telegraphy: real-time events for web apps.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="validate a config file and print the effective config (secrets masked)")
    p.add_argument("--config", "-c", help="the shared YAML config (default: $TELEGRAPHY_CONFIG)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("plugins", help="list the installed transports and integrations, and whether they are usable")
    p.set_defaults(func=cmd_plugins)

    p = sub.add_parser("token", help="mint a browser token with the config's secret")
    p.add_argument("--config", "-c")
    p.add_argument("--user", help="the user id the token is for")
    p.add_argument("--events", nargs="*", help="private event patterns the token may receive")
    p.add_argument("--ttl", type=int, help="seconds the token stays valid")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("publish", help="publish one event (data as JSON)")
    p.add_argument("--config", "-c")
    p.add_argument("name")
    p.add_argument("data", nargs="?")
    p.add_argument("--event-type", choices=["create", "update", "delete"])
    p.add_argument("--user")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("demo", help="start a gateway, a demo page and a publisher of one event per second")
    p.add_argument("--port", type=int, default=8000, help="port of the demo page (default 8000)")
    p.add_argument("--gateway-port", type=int, default=8080, help="port of the gateway (default 8080)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except TelegraphyError as exc:
        print(f"telegraphy: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
