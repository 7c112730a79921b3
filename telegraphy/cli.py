"""The ``telegraphy`` command: check a config, list plugins, mint a token, publish, tail events, run the demo.

Every failure is one line saying what went wrong and one ``hint:`` line saying what to do; usage and
config errors exit with 2, failures at run time (a gateway down) with 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from . import config as config_module
from .errors import ConfigError, GatewayUnavailable, InvalidEvent, PluginError, TelegraphyError, TokenError

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
CONFIG_HELP = "the shared YAML config (default: $TELEGRAPHY_CONFIG, else ./telegraphy.yaml)"
DEBUG_VAR = "TELEGRAPHY_DEBUG"


class Parser(argparse.ArgumentParser):
    """argparse with one error line and a hint instead of the whole usage text."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\n  hint: see '{self.prog} --help' for usage and examples\n")


def positive_seconds(text: str) -> int:
    """--ttl: a whole, positive number of seconds (a token with ttl <= 0 is born expired)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {value} "
                                         "(a token that is already expired opens nothing)")
    return value


def json_data(text: str) -> Any:
    """The event's data given as JSON on the command line."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"the data is not valid JSON ({exc}); quote it for the shell, as in "
                                         """'{"id": 7}'""") from None


def event_pattern(text: str):
    from .tail import parse_pattern

    try:
        return parse_pattern(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def load_config(args) -> config_module.Config:
    """Load the config the command was given (or found) and say which file it is."""
    config = config_module.load(args.config)
    print(f"telegraphy {args.command}: using config {config.source}", file=sys.stderr)
    return config


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

    config = load_config(args)
    print(mint(config.auth, user=args.user, events=args.events or None, ttl=args.ttl))
    return 0


def cmd_publish(args) -> int:
    import telegraphy

    telegraphy.configure(load_config(args))
    event = telegraphy.publish(args.name, args.data, event_type=args.event_type, user=args.user)
    print(event.meta["id"])
    return 0


def cmd_tail(args) -> int:
    from .tail import Tail, run

    config = load_config(args)
    return run(Tail(config, args.pattern, args.filter, args.url or config.gateway.url, as_json=args.json))


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.port, args.gateway_port, args.duration)


def _add(sub, name: str, help: str, example: str, config: bool = True, **kwargs) -> Parser:
    """A subcommand whose --help ends with examples (``example``); ``config``: it takes --config."""
    p = sub.add_parser(name, help=help, description=help[0].upper() + help[1:] + ".",
                       epilog=example, formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    if config:
        p.add_argument("--config", "-c", metavar="FILE", help=CONFIG_HELP)
    return p


def build_parser() -> argparse.ArgumentParser:
    from .tail import PATTERN_HELP

    parser = Parser(prog="telegraphy", description="Telegraphy: real-time events for web apps.",
                    epilog="Run 'telegraphy COMMAND --help' for a command's options and examples.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _add(sub, "check", "validate a config file and print the effective config (secrets masked)",
             "example:\n  telegraphy check --config telegraphy.yaml")
    p.set_defaults(func=cmd_check)

    p = _add(sub, "plugins", "list the installed transports and integrations, and whether they are usable",
             "example:\n  telegraphy plugins", config=False)
    p.set_defaults(func=cmd_plugins)

    p = _add(sub, "token", "mint a browser token with the config's secret",
             "examples:\n  telegraphy token --user 42\n  telegraphy token --user 42 --events 'inbox.*' --ttl 60")
    p.add_argument("--user", help="the user id the token is for (default: an authenticated guest)")
    p.add_argument("--events", nargs="*", metavar="PATTERN", help="private event patterns the token may receive")
    p.add_argument("--ttl", type=positive_seconds, help="seconds the token stays valid (default: auth.token_ttl)")
    p.set_defaults(func=cmd_token)

    p = _add(sub, "publish", "publish one event (data as JSON), as the web app would",
             """examples:\n  telegraphy publish shop.Order '{"id": 7, "total": "9.99"}' --event-type create\n"""
             """  telegraphy publish inbox.Message '{"text": "hi"}' --user 42""")
    p.add_argument("name", help="the event name, e.g. shop.Order")
    p.add_argument("data", nargs="?", type=json_data, help="the event's data as JSON (default: null)")
    p.add_argument("--event-type", choices=["create", "update", "delete"])
    p.add_argument("--user", help="the user a private event is for (meta.user)")
    p.set_defaults(func=cmd_publish)

    p = _add(sub, "tail", "print the events passing through a gateway as they arrive, for debugging",
             PATTERN_HELP + "\nThe command connects as a WAMP client with a token it mints with auth.secret whose\n"
             "events claim is [\"*\"]: it sees every event, private and authenticated ones included,\n"
             "so keep the secret (and this command) to the people who may see them all.\n"
             "\nexamples:\n  telegraphy tail\n  telegraphy tail shop.\n"
             "  telegraphy tail chat.Message --filter 'data.room == \"lobby\"'\n"
             "  telegraphy tail shop. --json | jq .event.data")
    p.add_argument("pattern", nargs="?", type=event_pattern, default=event_pattern("*"), metavar="PATTERN",
                   help="which events to show (see below; default: all)")
    p.add_argument("--filter", metavar="EXPR", help="a gateway filter, e.g. 'data.total > 100' (see the docs)")
    p.add_argument("--url", help="the gateway's WebSocket URL (default: gateway.url from the config)")
    p.add_argument("--json", action="store_true", help="one JSON object per line (topic, seq, epoch, event)")
    p.set_defaults(func=cmd_tail)

    p = _add(sub, "demo", "start a gateway, a demo page and a publisher of one event per second",
             "examples:\n  telegraphy demo\n  telegraphy demo --port 8001 --gateway-port 8081 --duration 60",
             config=False)
    p.add_argument("--port", type=int, default=8000, help="port of the demo page (default 8000)")
    p.add_argument("--gateway-port", type=int, default=8080, help="port of the gateway (default 8080)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)")
    p.set_defaults(func=cmd_demo)
    return parser


def hint(exc: Exception, args) -> str:
    """What to do about a failure, in one line."""
    config = getattr(args, "config", None) or "telegraphy.yaml"
    if isinstance(exc, ConfigError):
        return "fix the file and run 'telegraphy check' to validate it" if exc.source else \
            "pass --config FILE, set $TELEGRAPHY_CONFIG, or run from the folder holding telegraphy.yaml"
    if isinstance(exc, GatewayUnavailable):
        return (f"is the gateway running with this config (telegraphy-gateway --config {config}), and the broker "
                "too if the transport uses one?")
    if isinstance(exc, PluginError):
        return "'telegraphy plugins' lists the installed plugins and whether they can load"
    if isinstance(exc, InvalidEvent):
        return "event names are dotted words such as shop.Order; data must be JSON-serializable"
    if isinstance(exc, TokenError):
        return "mint a new token with: telegraphy token"
    return f"set {DEBUG_VAR}=1 to see the traceback"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    prog = f"telegraphy {args.command}"
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except TelegraphyError as exc:
        usage = isinstance(exc, (ConfigError, PluginError, InvalidEvent))
        print(f"{prog}: {exc}\n  hint: {hint(exc, args)}", file=sys.stderr)
        return EXIT_USAGE if usage else EXIT_FAILED
    except Exception as exc:  # noqa: BLE001 - one line rather than a traceback, unless asked
        if os.environ.get(DEBUG_VAR):
            raise
        print(f"{prog}: unexpected error: {type(exc).__name__}: {exc}\n  hint: {hint(exc, args)}, "
              "and please report it", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
