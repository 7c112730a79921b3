// A load-generating WAMP v2 (JSON) peer for the benchmarks, written for Node so that the clients are
// not the bottleneck. It speaks just enough WAMP: HELLO (anonymous), SUBSCRIBE, EVENT, PUBLISH.
//
//   node wamp_peer.js subscribe URL REALM TOPIC CONNECTIONS   many subscribers; latency histograms
//   node wamp_peer.js publish   URL REALM TOPIC               a paced publisher (for routers like Crossbar)
//
// Control is JSON lines: on stdin {"cmd": "report"|"reset"|"exit"|"pace", ...}, answers on stdout. The
// process exits when stdin closes (its parent went away) or after MAX_SECONDS, whatever happens.
"use strict";
const WebSocket = require("ws");
const readline = require("readline");
const { performance } = require("perf_hooks");

const [mode, url, realm, topic, countArg] = process.argv.slice(2);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS || 900);
const CONNECT_CONCURRENCY = 50;
const BUCKETS_PER_E = 50; // latency histogram: bucket = floor(ln(microseconds) * 50), about 2% wide
const now = () => performance.timeOrigin + performance.now(); // wall clock in ms, sub-ms resolution

setTimeout(() => process.exit(3), MAX_SECONDS * 1000).unref();
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const steps = new Map(); // step id -> {count, first, last, hist: Map(bucket -> n)}
let closed = 0;
let errors = 0;

function record(buf) {
  // Only EVENT frames ("[36,") are counted; the send time and the step id are read straight from
  // the bytes, without parsing the whole message, to keep the client cheap.
  if (buf[1] !== 0x33 || buf[2] !== 0x36 || buf[3] !== 0x2c) return;
  const received = now();
  const ti = buf.indexOf('"bench_t":');
  const si = buf.indexOf('"bench_s":');
  if (ti < 0 || si < 0) return;
  const sent = parseFloat(buf.toString("latin1", ti + 10, ti + 40).trimStart());
  const step = parseInt(buf.toString("latin1", si + 10, si + 24).trimStart(), 10);
  let st = steps.get(step);
  if (!st) steps.set(step, (st = { count: 0, first: received, last: received, hist: new Map() }));
  st.count += 1;
  st.last = received;
  const bucket = Math.floor(Math.log(Math.max((received - sent) * 1000, 1)) * BUCKETS_PER_E);
  st.hist.set(bucket, (st.hist.get(bucket) || 0) + 1);
}

function session(onJoined, onMessage) {
  // One WebSocket + WAMP session; onJoined(ws) after WELCOME, onMessage(buf) for everything after.
  const ws = new WebSocket(url, ["wamp.2.json"], { perMessageDeflate: false, skipUTF8Validation: true });
  let joined = false;
  ws.on("open", () => ws.send(JSON.stringify([1, realm, {
    roles: { subscriber: {}, publisher: {} }, authmethods: ["anonymous"] }])));
  ws.on("message", (buf) => {
    if (joined) return onMessage(buf);
    const msg = JSON.parse(buf.toString());
    if (msg[0] === 2) { joined = true; onJoined(ws); } else { errors += 1; ws.close(); }
  });
  ws.on("error", () => { errors += 1; });
  ws.on("close", () => { closed += 1; });
  return ws;
}

function subscribeAll(total, onEach, done) {
  // Open ``total`` subscribed sessions, CONNECT_CONCURRENCY at a time, then call done(sockets).
  const sockets = [];
  let started = 0;
  let ready = 0;
  let retries = total;
  const next = () => {
    if (started >= total) return;
    started += 1;
    let subscribed = false;
    const ws = session(
      (sock) => sock.send(JSON.stringify([32, 1, {}, topic])),
      (buf) => {
        if (subscribed) return onEach(buf, ws);
        if (buf[1] === 0x33 && buf[2] === 0x33) { // SUBSCRIBED
          subscribed = true;
          ready += 1;
          if (ready === total) done(sockets);
          next();
        }
      });
    ws.on("close", () => { // refused or failed before subscribing: try again, a bounded number of times
      if (!subscribed && retries-- > 0) { started -= 1; setTimeout(next, 50); }
    });
    sockets.push(ws);
  };
  for (let i = 0; i < Math.min(CONNECT_CONCURRENCY, total); i++) next();
}

function report() {
  const out = {};
  for (const [step, st] of steps) {
    out[step] = { count: st.count, first: st.first / 1000, last: st.last / 1000, hist: Object.fromEntries(st.hist) };
  }
  return { steps: out, closed, errors };
}

function publisher(ws, cmd) {
  // Publish cmd.rate events/s for cmd.seconds in 10 ms ticks, each carrying its send time.
  const pad = "x".repeat(cmd.pad || 0);
  let sent = 0;
  let request = 1;
  const start = now();
  const total = Math.round(cmd.rate * cmd.seconds);
  const tick = () => {
    const due = Math.min(total, Math.round(((now() - start) / 1000) * cmd.rate));
    while (sent < due) {
      const envelope = { name: topic, data: { bench_t: now(), bench_s: cmd.step, i: sent, pad },
        meta: { event_type: null, verbose_name: null, timestamp: new Date().toISOString(), id: String(sent), user: null } };
      ws.send(JSON.stringify([16, request++, {}, topic, [envelope]]));
      sent += 1;
    }
    if (sent < total) setTimeout(tick, 10);
    else say({ sent, first: start / 1000, last: now() / 1000 });
  };
  tick();
}

const sockets = [];
const rl = readline.createInterface({ input: process.stdin });
rl.on("close", () => process.exit(0));
rl.on("line", (line) => {
  const cmd = JSON.parse(line);
  if (cmd.cmd === "report") say(report());
  else if (cmd.cmd === "reset") { steps.clear(); say({ ok: true }); }
  else if (cmd.cmd === "pace") publisher(sockets[0], cmd);
  else if (cmd.cmd === "exit") { for (const ws of sockets) ws.terminate(); process.exit(0); }
});

if (mode === "subscribe") {
  subscribeAll(Number(countArg || 1), record, (socks) => { sockets.push(...socks); say({ ready: socks.length }); });
} else if (mode === "publish") {
  const ws = session(() => { sockets.push(ws); say({ ready: 1 }); }, () => {});
} else {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
