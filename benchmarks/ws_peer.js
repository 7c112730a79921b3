// Node benchmark peers for the routers that do not speak WAMP, with the same control and statistics as
// wamp_peer.js (peer_stats.js):
//
//   node ws_peer.js ws-subscribe  URL - TOPIC CONNECTIONS   plain WebSocket receivers (`ws`): the bare
//                                                           Autobahn broadcaster, Django Channels
//   node ws_peer.js ws-publish    URL - TOPIC               a paced plain-WebSocket publisher (the bare
//                                                           broadcaster relays what it receives)
//   node ws_peer.js sio-subscribe URL - TOPIC CONNECTIONS   socket.io-client receivers (python-socketio),
//                                                           WebSocket transport only, event name TOPIC
"use strict";
const WebSocket = require("ws");
const stats = require("./peer_stats");

const [mode, url, , topic, countArg] = process.argv.slice(2);
const CONNECT_CONCURRENCY = 50;

function plain(onReady, onFailed) {
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
  let ready = false;
  ws.on("open", () => { ready = true; onReady(); });
  ws.on("message", (buf) => stats.recordBytes(buf, 0));
  ws.on("error", () => { stats.counters.errors += 1; });
  ws.on("close", () => { stats.counters.closed += 1; if (!ready) onFailed(); });
  return ws;
}

function socketio(onReady, onFailed) {
  const { io } = require("socket.io-client");
  const sock = io(url, { transports: ["websocket"], forceNew: true, reconnection: false });
  let ready = false;
  sock.on("connect", () => { ready = true; onReady(); });
  sock.on(topic, (data) => stats.recordTimes(data.data.bench_t, data.data.bench_s));
  sock.on("connect_error", () => { stats.counters.errors += 1; if (!ready) onFailed(); });
  sock.on("disconnect", () => { stats.counters.closed += 1; });
  return sock;
}

const sockets = [];
stats.control({
  pace: (cmd) => stats.pace(cmd, topic, (envelope) => sockets[0].send(JSON.stringify(envelope))),
}, sockets);

const opener = { "ws-subscribe": plain, "ws-publish": plain, "sio-subscribe": socketio }[mode];
if (!opener) {
  process.stderr.write(`unknown mode ${mode}\n`);
  process.exit(2);
}
const count = mode === "ws-publish" ? 1 : Number(countArg || 1);
stats.openAll(count, CONNECT_CONCURRENCY, opener, (socks) => { sockets.push(...socks); stats.say({ ready: socks.length }); });
