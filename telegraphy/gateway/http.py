"""Plain HTTP on the gateway's port: /health, /metrics (Prometheus text) and /telegraphy.js."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from importlib.resources import files

from twisted.web.resource import Resource


class Metrics:
    """Counters the gateway keeps; rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self.events_in = 0
        self.events_out = 0
        self.connections_total = 0
        self.sessions_total = 0
        self.protocol_errors = 0
        self.slow_clients_dropped = 0
        self.fanout_errors = 0
        self.refused: Counter[str] = Counter()

    def render(self, gateway) -> str:
        rep = gateway.representative.status()
        transport = gateway.config.transport.name
        lines = []

        def metric(name: str, kind: str, help_text: str, samples) -> None:
            lines.append(f"# HELP telegraphy_{name} {help_text}")
            lines.append(f"# TYPE telegraphy_{name} {kind}")
            for labels, value in samples:
                label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
                labelled = f"{{{label_text}}}" if label_text else ""
                lines.append(f"telegraphy_{name}{labelled} {value}")

        metric("events_received_total", "counter", "Events received from the web app.", [({}, self.events_in)])
        metric("events_delivered_total", "counter", "EVENT frames sent to clients.", [({}, self.events_out)])
        metric("connections", "gauge", "Open WebSocket connections.", [({}, len(gateway.connections))])
        metric("connections_total", "counter", "WebSocket connections opened.", [({}, self.connections_total)])
        metric("sessions_total", "counter", "WAMP sessions established.", [({}, self.sessions_total)])
        metric("sessions_detached", "gauge", "Sessions away that may still resume.",
               [({}, gateway.resumption.away_count)])
        metric("sessions_evicted_total", "counter", "Away sessions forgotten early (limits.max_away_sessions).",
               [({}, gateway.resumption.evicted)])
        metric("subscriptions", "gauge", "Distinct subscriptions.", [({}, gateway.hub.subscription_count)])
        metric("fanout_backlog", "gauge", "Accepted events not yet delivered to their whole audience.",
               [({}, gateway.hub.backlog)])
        metric("fanout_errors_total", "counter", "Failures contained to one subscription or subscriber.",
               [({}, self.fanout_errors)])
        history = gateway.history.stats()
        for key, help_text in (("topics", "Event names with history state."), ("entries", "Events held in history."),
                               ("bytes", "Bytes of events held in history.")):
            metric(f"history_{key}", "gauge", help_text, [({}, history[key])])
        metric("config_generation", "gauge", "The config in force: 1 at start, one more per reload.",
               [({}, gateway.generation)])
        limits = dataclasses.asdict(gateway.config.limits)
        metric("limit", "gauge", "The limits.* in force.", [({"name": k}, v) for k, v in sorted(limits.items())])
        metric("protocol_errors_total", "counter", "Sessions closed for a protocol violation.",
               [({}, self.protocol_errors)])
        metric("slow_clients_dropped_total", "counter", "Clients cut off for not reading fast enough.",
               [({}, self.slow_clients_dropped)])
        metric("refused_total", "counter", "Refused connections, sessions, tokens, publishes and calls.",
               [({"reason": reason}, n) for reason, n in sorted(self.refused.items())] or [({"reason": "none"}, 0)])
        metric("transport_up", "gauge", "1 if the transport's representative is running.",
               [({"transport": transport}, int(gateway.representative.healthy))])
        for key, value in sorted(rep.items()):
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                metric(f"transport_{key}", "gauge" if key in gateway.representative.gauges else "counter",
                       f"Transport statistic {key}.", [({"transport": transport}, value)])
        return "\n".join(lines) + "\n"


class _Page(Resource):
    isLeaf = True

    def __init__(self, gateway) -> None:
        super().__init__()
        self.gateway = gateway


class Health(_Page):
    def render_GET(self, request):
        gw = self.gateway
        healthy = gw.representative.healthy and not gw.closing
        body = {"status": "ok" if healthy else "degraded", "epoch": gw.history.epoch,
                "connections": len(gw.connections), "subscriptions": gw.hub.subscription_count,
                "transport": {"name": gw.config.transport.name,
                              **gw.representative.status()}}
        request.setResponseCode(200 if healthy else 503)
        request.setHeader(b"content-type", b"application/json")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(body).encode()


class PrometheusMetrics(_Page):
    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")
        return self.gateway.metrics.render(self.gateway).encode()


class ClientScript(_Page):
    """Serves the dependency-free browser client (telegraphy/static/telegraphy/telegraphy.js)."""

    def __init__(self, gateway) -> None:
        super().__init__(gateway)
        self.body = files("telegraphy").joinpath("static/telegraphy/telegraphy.js").read_bytes()

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/javascript; charset=utf-8")
        request.setHeader(b"cache-control", b"public, max-age=300")
        request.setHeader(b"access-control-allow-origin", b"*")
        return self.body


def root(gateway, websocket: Resource) -> Resource:
    """The gateway's HTTP tree: the WebSocket endpoint at the configured path, and the pages above."""
    tree = Resource()
    tree.putChild(gateway.config.gateway.path.strip("/").encode(), websocket)
    tree.putChild(b"health", Health(gateway))
    tree.putChild(b"metrics", PrometheusMetrics(gateway))
    tree.putChild(b"telegraphy.js", ClientScript(gateway))
    return tree
