// A wampy (npm "wampy", a third WAMP v2 client library) subscriber for the interop tests: authenticates with a
// ticket, subscribes as told, prints "ready" with the result of telegraphy.subscriptions, then one JSON line per
// event, and leaves after COUNT events.
// usage: node wampy_subscriber.mjs URL TOKEN COUNT '[{"topic": "shop.Order", "match": "exact", "options": {}}]'
// Node 20 has no global WebSocket: wampy takes the `ws` package's.
import { Wampy } from "wampy";
import { WebSocket } from "ws";

const [url, token, count, specs] = process.argv.slice(2);
const subscriptions = JSON.parse(specs);
const done = setTimeout(() => { console.error("timed out"); process.exit(2); }, 60000);
let received = 0;

const wampy = new Wampy(url, {
  ws: WebSocket, realm: "telegraphy", autoReconnect: false,
  authid: "wampy", authmethods: ["ticket"], onChallenge: () => token,
});

try {
  const welcome = await wampy.connect();
  for (const [index, spec] of subscriptions.entries()) {
    await wampy.subscribe(spec.topic, ({ argsList, details }) => {
      console.log(JSON.stringify({ sub: index, topic: details.topic || spec.topic, seq: details.seq,
                                   envelope: argsList[0] }));
      if (++received >= Number(count)) {
        clearTimeout(done);
        wampy.disconnect().then(() => process.exit(0));
      }
    }, { match: spec.match, ...(spec.options || {}) });
  }
  const result = await wampy.call("telegraphy.subscriptions");
  console.log(JSON.stringify({ ready: true, authid: welcome && welcome.authid, subscriptions: result.argsList[0] }));
} catch (exc) {
  console.error("wampy failed: " + (exc.error || "") + " " + (exc.message || exc) + " " +
                JSON.stringify(exc.argsList || exc.details || ""));
  process.exit(1);
}
