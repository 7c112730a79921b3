// An AutobahnJS (npm "autobahn") client for the interop tests: subscribes as told on the command line,
// prints one JSON line per event, "ready" once subscribed, and the result of a gateway procedure.
// usage: node autobahn_subscriber.js URL SERIALIZER(json|msgpack) COUNT TOPIC:MATCH...
// AutobahnJS 26 uses the global WebSocket of browsers and Node 22+; on older Node, ws provides it.
if (typeof WebSocket === "undefined") global.WebSocket = require("ws");
const autobahn = require("autobahn");

const [url, serializer, count, ...subscriptions] = process.argv.slice(2);
const serializers = serializer === "msgpack" ? [new autobahn.serializer.MsgpackSerializer()]
                                             : [new autobahn.serializer.JSONSerializer()];
const connection = new autobahn.Connection({url, realm: "telegraphy", serializers, max_retries: 0});
let received = 0;
const done = setTimeout(() => { console.error("timed out"); process.exit(2); }, 60000);

connection.onopen = async (session) => {
  for (const spec of subscriptions) {
    const [topic, match] = spec.split(":");
    await session.subscribe(topic, (args, kwargs, details) => {
      console.log(JSON.stringify({topic: details.topic || topic, match, envelope: args[0]}));
      if (++received >= Number(count)) { clearTimeout(done); connection.close(); }
    }, {match});
  }
  const subs = await session.call("telegraphy.subscriptions");
  console.log(JSON.stringify({ready: true, subscriptions: subs.length}));
};
connection.onclose = (reason) => { if (received < Number(count)) { console.error("closed: " + reason); process.exit(1); } process.exit(0); };
connection.open();
