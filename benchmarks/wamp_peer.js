// A load-generating WAMP v2 (JSON) peer for the benchmarks, written for Node so that the clients are
// not the bottleneck. It speaks just enough WAMP: HELLO (anonymous), SUBSCRIBE, EVENT, PUBLISH, CALL.
//
//   node wamp_peer.js subscribe URL REALM TOPIC CONNECTIONS   many subscribers; latency histograms
//   node wamp_peer.js join      URL REALM TOPIC CONNECTIONS   many idle sessions (joined, nothing else)
//   node wamp_peer.js publish   URL REALM TOPIC               a paced publisher (for routers like Crossbar)
//   node wamp_peer.js probe     URL REALM TOPIC               one session timing CALLs and /health requests
//
// Control is JSON lines (peer_stats.js): {"cmd": "report"|"reset"|"exit"|"pace"|"probe", ...}.
"use strict";
const http = require("http");
const WebSocket = require("ws");
const stats = require("./peer_stats");

const [mode, url, realm, topic, countArg] = process.argv.slice(2);
const CONNECT_CONCURRENCY = 50;

function session(onJoined, onMessage) {
  // One WebSocket + WAMP session; onJoined(ws) after WELCOME, onMessage(buf) for everything after.
  const ws = new WebSocket(url, ["wamp.2.json"], { perMessageDeflate: false, skipUTF8Validation: true });
  let joined = false;
  ws.on("open", () => ws.send(JSON.stringify([1, realm, {
    roles: { subscriber: {}, publisher: {}, caller: {} }, authmethods: ["anonymous"] }])));
  ws.on("message", (buf) => {
    if (joined) return onMessage(buf);
    const msg = JSON.parse(buf.toString());
    if (msg[0] === 2) { joined = true; onJoined(ws); } else { stats.counters.errors += 1; ws.close(); }
  });
  ws.on("error", () => { stats.counters.errors += 1; });
  ws.on("close", () => { stats.counters.closed += 1; });
  return ws;
}

function onEvent(buf) {
  // Only EVENT frames ("[36,") are counted.
  if (buf[1] === 0x33 && buf[2] === 0x36 && buf[3] === 0x2c) stats.recordBytes(buf, 4);
}

function openSubscriber(subscribe) {
  return (onReady, onFailed) => {
    let ready = false;
    const ws = session(
      (sock) => {
        if (!subscribe) { ready = true; return onReady(); }
        sock.send(JSON.stringify([32, 1, {}, topic]));
      },
      (buf) => {
        if (ready) return onEvent(buf);
        if (buf[1] === 0x33 && buf[2] === 0x33) { ready = true; onReady(); } // SUBSCRIBED
      });
    ws.on("close", () => { if (!ready) onFailed(); });
    return ws;
  };
}

function probe(ws, pending, cmd) {
  // Every cmd.interval_ms: one CALL of cmd.procedure on this session and, half an interval later, one
  // GET of cmd.health_url on a new connection (what a load balancer does); round trips in ms.
  const out = { call: [], health: [], call_errors: 0, health_errors: 0 };
  let request = 1000;
  let outstanding = 0;
  const start = stats.now();
  const finish = () => stats.say(out);
  const call = () => {
    const id = request++;
    outstanding += 1;
    pending.set(id, (ok) => { outstanding -= 1; if (ok) out.call.push(stats.now() - t0); else out.call_errors += 1; });
    const t0 = stats.now();
    ws.send(JSON.stringify([48, id, {}, cmd.procedure, []]));
  };
  const health = () => {
    outstanding += 1;
    const t0 = stats.now();
    const req = http.get(cmd.health_url, { agent: false }, (res) => {
      res.resume();
      res.on("end", () => { outstanding -= 1; if (res.statusCode === 200) out.health.push(stats.now() - t0); else out.health_errors += 1; });
    });
    req.on("error", () => { outstanding -= 1; out.health_errors += 1; });
    req.setTimeout(10000, () => req.destroy());
  };
  const tick = () => {
    if (stats.now() - start >= cmd.seconds * 1000) {
      const deadline = stats.now() + 10000; // answers still on their way: wait for them, bounded
      const drain = () => (outstanding > 0 && stats.now() < deadline ? setTimeout(drain, 20) : finish());
      return drain();
    }
    call();
    setTimeout(health, cmd.interval_ms / 2);
    setTimeout(tick, cmd.interval_ms);
  };
  tick();
}

const sockets = [];
const handlers = {
  pace: (cmd) => {
    let request = 1;
    stats.pace(cmd, topic, (envelope) => sockets[0].send(JSON.stringify([16, request++, {}, topic, [envelope]])));
  },
  probe: (cmd) => probe(sockets[0], pendingCalls, cmd),
};
const pendingCalls = new Map(); // CALL request id -> callback(ok)
stats.control(handlers, sockets);

if (mode === "subscribe" || mode === "join") {
  stats.openAll(Number(countArg || 1), CONNECT_CONCURRENCY, openSubscriber(mode === "subscribe"),
    (socks) => { sockets.push(...socks); stats.say({ ready: socks.length }); });
} else if (mode === "publish" || mode === "probe") {
  const ws = session(() => { sockets.push(ws); stats.say({ ready: 1 }); }, (buf) => {
    const msg = buf[1] === 0x35 || buf[1] === 0x38 ? JSON.parse(buf.toString()) : null; // RESULT 50, ERROR 8
    if (msg && (msg[0] === 50 || msg[0] === 8)) {
      const id = msg[0] === 50 ? msg[1] : msg[2];
      const done = pendingCalls.get(id);
      if (done) { pendingCalls.delete(id); done(msg[0] === 50); }
    }
  });
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
