// What every Node benchmark peer shares: per-step receive counts and latency histograms, the paced
// publisher loop, and the JSON-lines control channel on stdin/stdout.
//
// Control: on stdin {"cmd": "report"|"reset"|"exit"|"pace"|...}, answers on stdout. A peer exits when
// stdin closes (its parent went away) or after BENCH_MAX_SECONDS, whatever happens.
"use strict";
const readline = require("readline");
const { performance } = require("perf_hooks");

const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS || 900);
const BUCKETS_PER_E = 50; // latency histogram: bucket = floor(ln(microseconds) * 50), about 2% wide
const now = () => performance.timeOrigin + performance.now(); // wall clock in ms, sub-ms resolution
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");
setTimeout(() => process.exit(3), MAX_SECONDS * 1000).unref();

const steps = new Map(); // step id -> {count, first, last, hist: Map(bucket -> n)}
const counters = { closed: 0, errors: 0 };

function recordTimes(sent, step) {
  // One delivery of an event sent at ``sent`` (ms since the epoch) in step ``step``.
  const received = now();
  let st = steps.get(step);
  if (!st) steps.set(step, (st = { count: 0, first: received, last: received, hist: new Map() }));
  st.count += 1;
  st.last = received;
  const bucket = Math.floor(Math.log(Math.max((received - sent) * 1000, 1)) * BUCKETS_PER_E);
  st.hist.set(bucket, (st.hist.get(bucket) || 0) + 1);
}

function recordBytes(buf, from) {
  // The send time and step id read straight from a message's bytes (``"bench_t":`` and ``"bench_s":``
  // after offset ``from``), without parsing the whole message, to keep the client cheap.
  const ti = buf.indexOf('"bench_t":', from);
  const si = buf.indexOf('"bench_s":', from);
  if (ti < 0 || si < 0) return;
  const sent = parseFloat(buf.toString("latin1", ti + 10, ti + 40).trimStart());
  const step = parseInt(buf.toString("latin1", si + 10, si + 24).trimStart(), 10);
  recordTimes(sent, step);
}

function report() {
  const out = {};
  for (const [step, st] of steps) {
    out[step] = { count: st.count, first: st.first / 1000, last: st.last / 1000, hist: Object.fromEntries(st.hist) };
  }
  return { steps: out, closed: counters.closed, errors: counters.errors };
}

function pace(cmd, topic, sendOne) {
  // Publish cmd.rate events/s for cmd.seconds in 10 ms ticks through sendOne(text, i), each event
  // carrying its send time; answers {sent, first, last} when done.
  const pad = "x".repeat(cmd.pad || 0);
  let sent = 0;
  const start = now();
  const total = Math.round(cmd.rate * cmd.seconds);
  const tick = () => {
    const due = Math.min(total, Math.round(((now() - start) / 1000) * cmd.rate));
    while (sent < due) {
      const envelope = { name: topic, data: { bench_t: now(), bench_s: cmd.step, i: sent, pad },
        meta: { event_type: null, verbose_name: null, timestamp: new Date().toISOString(), id: String(sent), user: null } };
      sendOne(envelope);
      sent += 1;
    }
    if (sent < total) setTimeout(tick, 10);
    else say({ sent, first: start / 1000, last: now() / 1000 });
  };
  tick();
}

function control(handlers, sockets) {
  // Serve the JSON-lines commands: report, reset, exit, plus the peer's own ``handlers``.
  const rl = readline.createInterface({ input: process.stdin });
  rl.on("close", () => process.exit(0));
  rl.on("line", (line) => {
    const cmd = JSON.parse(line);
    if (cmd.cmd === "report") say(report());
    else if (cmd.cmd === "reset") { steps.clear(); say({ ok: true }); }
    else if (cmd.cmd === "exit") { for (const ws of sockets) ws.terminate ? ws.terminate() : ws.close(); process.exit(0); }
    else if (handlers[cmd.cmd]) handlers[cmd.cmd](cmd);
    else say({ error: `unknown command ${cmd.cmd}` });
  });
}

function openAll(total, concurrency, open, done) {
  // Open ``total`` connections, ``concurrency`` at a time. open(onReady, onFailed) starts one and
  // returns it; a connection that fails before it is ready is retried (a bounded number of times).
  const conns = [];
  let started = 0;
  let ready = 0;
  let retries = total;
  const next = () => {
    if (started >= total) return;
    started += 1;
    conns.push(open(
      () => { ready += 1; if (ready === total) done(conns); next(); },
      () => { if (retries-- > 0) { started -= 1; setTimeout(next, 50); } }));
  };
  for (let i = 0; i < Math.min(concurrency, total); i++) next();
}

module.exports = { now, say, recordTimes, recordBytes, report, pace, control, openAll, counters };
