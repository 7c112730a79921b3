"""`telegraphy tail` against real gateway processes: what it shows, its patterns, and how it stops."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading

import pytest
import yaml
from support import run_python, wait_for, write_config

BIN = os.path.dirname(sys.executable)
EVENTS = [{"match": "mail.*", "access": "private", "history": 10},
          {"match": "chat.*", "access": "authenticated", "history": 10},
          {"match": "*", "access": "public", "history": 10}]
LINE = re.compile(r"^(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z)  #(?P<seq>\d+)  (?P<name>\S+)  (?P<rest>.*)$")


class TailProcess:
    """A `telegraphy tail` subprocess whose output lines are collected by reader threads."""

    def __init__(self, config_path, *args: str) -> None:
        self.proc = subprocess.Popen([shutil.which("telegraphy", path=BIN), "tail", "--config", str(config_path),
                                      *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [threading.Thread(target=self._read, args=(stream, lines), daemon=True)
                        for stream, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line.rstrip("\n"))

    def wait_ready(self) -> TailProcess:
        wait_for(lambda: any("Ctrl-C to stop" in line for line in self.err) or self.proc.poll() is not None,
                 timeout=20, message="telegraphy tail to subscribe")
        assert self.proc.poll() is None, self.stderr()
        return self

    def wait_out(self, predicate, message: str) -> list[str]:
        wait_for(lambda: predicate(self.out), timeout=15, message=f"{message}; got {self.out}\n{self.stderr()}")
        return list(self.out)

    def finish(self, timeout: float = 20) -> int:
        code = self.proc.wait(timeout)
        for reader in self.readers:
            reader.join(5)
        return code

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.finish()

    def stderr(self) -> str:
        return "\n".join(self.err)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def tails():
    started: list[TailProcess] = []

    def start(config_path, *args: str, ready: bool = True) -> TailProcess:
        tail = TailProcess(config_path, *args)
        started.append(tail)
        return tail.wait_ready() if ready else tail
    yield start
    for tail in started:
        tail.kill()


def publish(config_path, *events: dict) -> None:
    """Publish from a separate web-app process, in one round trip (so in this order)."""
    code = f"import json, telegraphy\ntelegraphy.publish_many(json.loads({json.dumps(list(events))!r}))\n"
    result = run_python(code, env={"TELEGRAPHY_CONFIG": str(config_path)})
    assert result.returncode == 0, result.stderr


def names(lines: list[str]) -> list[str]:
    return [LINE.match(line).group("name") for line in lines]


@pytest.fixture
def private_gateway(config_file, gateways):
    path = config_file(events=EVENTS)
    gw = gateways(path)
    gw.config_path = path
    return gw


def test_tail_shows_name_seq_time_and_data_of_every_event_even_private_ones(private_gateway, tails):
    tail = tails(private_gateway.config_path)
    assert f"using config {private_gateway.config_path}" in tail.stderr()
    assert f"connected to {private_gateway.url}, showing every event" in tail.stderr()
    publish(private_gateway.config_path,
            {"name": "shop.Order", "data": {"id": 7, "total": "9.99"}, "event_type": "create"},
            {"name": "chat.Message", "data": {"text": "for members"}},
            {"name": "mail.Inbox", "data": {"text": "for bob only"}, "user": "bob"})
    lines = tail.wait_out(lambda out: len(out) >= 3, "three events")
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [m.group("name") for m in parsed] == ["shop.Order", "chat.Message", "mail.Inbox"]
    assert parsed[0].group("rest") == 'create  {"id": 7, "total": "9.99"}'
    assert parsed[1].group("rest") == '{"text": "for members"}'
    assert parsed[2].group("rest") == 'user=bob  {"text": "for bob only"}'
    seqs = [int(m.group("seq")) for m in parsed]
    assert all(seq >= 1 for seq in seqs)
    assert tail.stop(signal.SIGINT) == 0  # what Ctrl-C sends
    assert "Traceback" not in tail.stderr()
    assert len(tail.out) == 3


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_tail_exits_cleanly_on_a_signal_and_leaves_the_session(private_gateway, tails, sig):
    tail = tails(private_gateway.config_path)
    assert "telegraphy_connections 1\n" in private_gateway.metrics()
    assert tail.stop(sig) == 0
    assert "Traceback" not in tail.stderr() and len(tail.err) == 2, tail.stderr()
    # it said GOODBYE: the session ended, it is not kept for a resume as a dropped one would be
    wait_for(lambda: "telegraphy_connections 0\n" in private_gateway.metrics(), message="the connection to close")
    assert "telegraphy_sessions_detached 0\n" in private_gateway.metrics()


def test_tail_patterns_exact_prefix_and_wildcard(private_gateway, tails):
    expected = {
        "shop.Order": ["shop.Order"],
        "shop.": ["shop.Order", "shop.eu.Order"],
        "shop.*": ["shop.Order", "shop.eu.Order"],
        "shop*": ["shop.Order", "shop.eu.Order", "shopping.Cart"],
        "shop..Order": ["shop.eu.Order"],
        "*": ["shop.Order", "shop.eu.Order", "shopping.Cart", "other.Thing"],
    }
    started = {pattern: tails(private_gateway.config_path, pattern) for pattern in expected}
    publish(private_gateway.config_path, *({"name": n, "data": {"n": n}} for n in expected["*"]),
            # markers: every tail matches one; once a tail shows one, it showed all that came before
            {"name": "shop.Order", "data": {"end": True}}, {"name": "shop.end.Order", "data": {"end": True}})
    for pattern, tail in started.items():
        lines = tail.wait_out(lambda out: any('"end": true' in line for line in out), f"the end marker ({pattern})")
        shown = names([line for line in lines if '"end": true' not in line])
        assert shown == expected[pattern], (pattern, lines)
    assert "showing shop.Order" in started["shop.Order"].stderr()
    assert "events starting with 'shop.' (prefix)" in started["shop.*"].stderr()
    assert "shop..Order (wildcard)" in started["shop..Order"].stderr()


def test_tail_filter_and_json_output(private_gateway, tails):
    tail = tails(private_gateway.config_path, "shop.Order", "--filter", "data.total > 100", "--json")
    assert "where data.total > 100" in tail.stderr()
    publish(private_gateway.config_path, {"name": "shop.Order", "data": {"total": 50}},
            {"name": "shop.Order", "data": {"total": 150}, "event_type": "update"})
    (line,) = tail.wait_out(lambda out: len(out) >= 1, "the filtered event")
    shown = json.loads(line)
    assert shown["topic"] == "shop.Order" and shown["event"]["data"] == {"total": 150}
    assert shown["event"]["meta"]["event_type"] == "update" and isinstance(shown["seq"], int) and shown["epoch"]
    assert tail.stop(signal.SIGTERM) == 0
    assert len(tail.out) == 1


def test_tail_reports_a_gateway_that_is_down_in_one_line(tmp_path, tails):
    path = write_config(tmp_path)  # nothing listens on its ports
    tail = tails(path, ready=False)
    assert tail.finish() == 1
    url = f"ws://127.0.0.1:{yaml.safe_load(path.read_text())['gateway']['listen']['port']}/ws"
    assert tail.err[0] == f"telegraphy tail: using config {path}"
    assert tail.err[1].startswith(f"telegraphy tail: cannot connect to {url}: ") and "refused" in tail.err[1]
    assert tail.err[2] == f"  hint: is the gateway running? start it with: telegraphy-gateway --config {path}"
    assert len(tail.err) == 3 and tail.out == []


def test_tail_reports_a_refused_token_a_bad_filter_and_a_gateway_that_stops(private_gateway, tails, tmp_path):
    config = yaml.safe_load(private_gateway.config_path.read_text())
    config["auth"]["secret"] = "another-secret-0123456789"
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(config))
    wrong_secret = tails(other, ready=False)
    assert wrong_secret.finish() == 1
    assert wrong_secret.err[1] == ("telegraphy tail: the gateway refused the session: wamp.error.not_authorized: "
                                   "invalid token: invalid token signature")
    assert wrong_secret.err[2] == "  hint: auth.secret must be one the gateway's config lists"

    bad_filter = tails(private_gateway.config_path, "--filter", "data.room ==", ready=False)
    assert bad_filter.finish() == 2
    assert bad_filter.err[1].startswith("telegraphy tail: the gateway refused the subscription: "
                                        "telegraphy.error.invalid_filter: invalid filter: ")

    watching = tails(private_gateway.config_path)
    assert private_gateway.stop() == 0
    assert watching.finish() == 1
    assert watching.err[-1] == "telegraphy tail: the gateway closed the session: wamp.close.system_shutdown"
    for tail in (wrong_secret, bad_filter, watching):
        assert "Traceback" not in tail.stderr()


def test_tail_refuses_a_malformed_pattern_before_connecting(tmp_path):
    result = subprocess.run([shutil.which("telegraphy", path=BIN), "tail", "--config", str(write_config(tmp_path)),
                             "shop.*.Order"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "telegraphy tail: argument PATTERN: '*' may only end a pattern, as in 'shop.*'; for one free component "
        "write an empty one, as in 'shop..Order' (got 'shop.*.Order')",
        "  hint: see 'telegraphy tail --help' for usage and examples"]


def test_tail_help_says_it_sees_private_events_and_shows_examples():
    result = subprocess.run([shutil.which("telegraphy", path=BIN), "tail", "--help"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0
    assert 'events claim is ["*"]' in result.stdout and "private and authenticated ones" in result.stdout
    assert "shop..Order" in result.stdout and "telegraphy tail shop." in result.stdout

