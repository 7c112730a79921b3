/*
 * telegraphy.js: the browser client of Telegraphy, so a page can receive server-side events with
 * one line per event name, and keep receiving them across network drops and gateway restarts.
 *
 *   Telegraphy.configure({url: "ws://localhost:8080/ws", tokenUrl: "/telegraphy/token"});
 *   Telegraphy.register("shop.Order", function (tEvent) { console.log(tEvent.data); });
 *
 * A small WAMP v2 client (JSON over WebSocket, subprotocol wamp.2.json) with no dependencies:
 * HELLO (ticket or anonymous) / CHALLENGE / AUTHENTICATE / WELCOME, SUBSCRIBE / EVENT /
 * UNSUBSCRIBE, CALL / RESULT / ERROR, GOODBYE and ABORT. Apache-2.0, the Telegraphy authors.
 */
(function (root) {
  "use strict";

  var HELLO = 1, WELCOME = 2, ABORT = 3, CHALLENGE = 4, AUTHENTICATE = 5, GOODBYE = 6, ERROR = 8,
      SUBSCRIBE = 32, SUBSCRIBED = 33, UNSUBSCRIBE = 34, EVENT = 36, CALL = 48, RESULT = 50;
  var SUBPROTOCOL = "wamp.2.json";
  var MATCHES = ["exact", "prefix", "wildcard"];
  var EVENTS = ["connect", "disconnect", "resume", "error"];
  var REMEMBERED_IDS = 1000;  // event ids kept per registration to drop an event delivered twice

  var script = root.document && root.document.currentScript;  // only set while this file first runs
  var configured = {};         // from configure()
  var current = settings();    // the settings of the latest connection attempt
  var spentTokens = [];        // tokens open one session only: never send the same one twice
  var entries = {};            // "match name filter" -> one WAMP subscription shared by its handles
  var bySubscription = {};     // subscription id -> entry, for the current session
  var listeners = {connect: [], disconnect: [], resume: [], error: []};
  var requests = {};           // request id -> {entry} or {resolve, reject}
  var queuedCalls = [];        // calls made while not connected
  var ws = null, established = false, stopped = false;
  var sessionId = null, resumeSecret = null, epoch = null, everJoined = false, retryNow = false;
  var attempt = 0, retryTimer = null, nextRequest = 0, nextHandle = 0;

  // -- settings: configure() over window.TELEGRAPHY over the script tag's data-* attributes ------
  function settings() {
    var s = {realm: "telegraphy", retryDelay: 500, maxRetryDelay: 30000, debug: false};
    var data = (script && script.dataset) || {};
    var fromData = {url: data.url, realm: data.realm, token: data.token, tokenUrl: data.tokenUrl,
                    debug: /^(true|1|yes)$/.test(data.debug || "")};
    [fromData, root.TELEGRAPHY || {}, configured].forEach(function (source) {
      Object.keys(source).forEach(function (key) {
        if (source[key] !== undefined && source[key] !== null && source[key] !== "") { s[key] = source[key]; }
      });
    });
    return s;
  }

  function log() {
    if (current.debug && root.console) {
      root.console.debug.apply(root.console, ["telegraphy:"].concat([].slice.call(arguments)));
    }
  }

  function emit(name, detail) {
    listeners[name].slice().forEach(function (cb) {
      try { cb(detail); } catch (exc) { report(exc); }
    });
    if (name === "error" && !listeners.error.length && root.console) {
      root.console.warn("telegraphy: " + detail.reason + ": " + detail.message);
    }
  }

  function report(exc) {
    if (root.console) { root.console.error("telegraphy: a callback failed:", exc); }
  }

  function send(msg) {
    log("->", msg);
    ws.send(JSON.stringify(msg));
  }

  // -- connection ----------------------------------------------------------------------------
  function hasWork() {
    return Object.keys(entries).length > 0 || queuedCalls.length > 0;
  }

  /* Connect soon, unless connected, connecting, or waiting out a backoff delay. */
  function kick() {
    if (!ws && !retryTimer && !stopped) { retryTimer = setTimeout(connect, 0); }
  }

  function connect() {
    var s = current = settings();
    clearTimeout(retryTimer);
    retryTimer = null;
    if (ws || stopped || !hasWork()) { return; }
    if (!s.url) { return log("registered, waiting for a gateway url: Telegraphy.configure({url: ...})"); }
    try {
      ws = new WebSocket(s.url, [SUBPROTOCOL]);
    } catch (exc) {  // a malformed URL: retrying will not help
      emit("error", {reason: "telegraphy.error.invalid_url", message: String(exc.message || exc)});
      return;
    }
    var socket = ws, opened = false;
    socket.onopen = function () { opened = true; onOpen(socket, s); };
    socket.onmessage = function (e) { if (socket === ws) { onMessage(e.data); } };
    socket.onclose = function (e) {
      if (socket !== ws) { return; }
      if (!opened && !stopped) { emit("error", handshakeFailed(s.url, e)); }
      onClose(e);
    };
  }

  /* A WebSocket closed before it opened: the gateway refused the handshake (HTTP 403 for an origin not
     in gateway.allowed_origins, 503 at limits.max_connections or while it shuts down) or could not be
     reached. Browsers show pages neither the HTTP status nor which it was (the console does), so say
     what the likely causes are, and where to look. */
  function handshakeFailed(url, e) {
    var origin = root.location && root.location.origin;
    return {reason: "telegraphy.error.connection_failed", url: url, origin: origin, code: e.code, attempt: attempt + 1,
            message: "cannot open a WebSocket to " + url + ": the gateway refused the handshake or could not be " +
              "reached (the browser does not tell the page which). Likely causes: this page's origin " + origin +
              " is not in the gateway's allowed_origins (HTTP 403); the gateway is at limits.max_connections or " +
              "shutting down (HTTP 503); the gateway is not running or the url is wrong. The browser console " +
              "shows the HTTP status, the gateway's log the reason; retrying with backoff."};
  }

  function onOpen(socket, s) {
    freshToken(s).then(function (token) {
      if (socket !== ws) { return; }
      var details = {roles: {subscriber: {features: {pattern_based_subscription: true}}, caller: {}},
                     authmethods: [token ? "ticket" : "anonymous"]};
      if (resumeSecret) { details.authextra = {previous_session: resumeSecret}; }
      socket.token = token;
      send([HELLO, s.realm, details]);
    }, function (exc) {
      emit("error", {reason: "telegraphy.error.token", message: "cannot get a token from " + s.tokenUrl + ": " + exc.message});
      socket.close(1000);
    });
  }

  /* The configured token if it was never sent, else one fetched from tokenUrl, else none (anonymous). */
  function freshToken(s) {
    if (s.token && spentTokens.indexOf(s.token) < 0) { return Promise.resolve(s.token); }
    if (!s.tokenUrl) { return Promise.resolve(null); }
    return fetch(s.tokenUrl, {credentials: "same-origin", cache: "no-store", headers: {Accept: "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (body) {
        // {"token": null}: the web app has no user for this page (logged out): connect anonymously
        if (body && body.token === null) { return null; }
        if (!body || typeof body.token !== "string") { throw new Error('expected JSON {"token": "..."}'); }
        return body.token;
      });
  }

  function onClose(e) {
    var wasEstablished = established;
    ws = null;
    established = false;
    sessionId = null;
    bySubscription = {};
    Object.keys(entries).forEach(function (key) { entries[key].subscription = null; });
    Object.keys(requests).forEach(function (id) {
      if (requests[id].reject) { requests[id].reject(callError("telegraphy.error.disconnected", "the connection was lost")); }
    });
    requests = {};
    if (wasEstablished) { emit("disconnect", {code: e.code, reason: e.reason, wasClean: e.wasClean}); }
    if (!stopped) { scheduleReconnect(); }
  }

  /* Exponential backoff with jitter (half fixed, half random), capped; at once after a refused resume. */
  function scheduleReconnect() {
    var s = settings();
    var delay = retryNow ? 0 : Math.min(s.maxRetryDelay, s.retryDelay * Math.pow(2, attempt));
    delay = delay / 2 + Math.random() * delay / 2;
    retryNow = false;
    attempt += 1;
    log("reconnecting in", Math.round(delay), "ms");
    retryTimer = setTimeout(connect, delay);
  }

  // -- incoming messages ---------------------------------------------------------------------
  function onMessage(text) {
    var msg;
    try { msg = JSON.parse(text); } catch (exc) { return protocolError("invalid JSON from the gateway"); }
    if (!Array.isArray(msg)) { return protocolError("a WAMP message is a list"); }
    log("<-", msg);
    switch (msg[0]) {
      case CHALLENGE:
        spend(ws.token);
        return send([AUTHENTICATE, ws.token || "", {}]);
      case WELCOME: return onWelcome(msg[1], msg[2] || {});
      case ABORT: return onAbort(msg[1] || {}, msg[2]);
      case GOODBYE:
        if (msg[2] !== "wamp.close.goodbye_and_out") { send([GOODBYE, {}, "wamp.close.goodbye_and_out"]); }
        attempt = 0;  // the gateway said goodbye (shutdown, expiry): come back soon
        return;
      case SUBSCRIBED: return onSubscribed(msg[1], msg[2]);
      case EVENT: return onEvent(msg[1], msg[3] || {}, msg[4] || []);
      case RESULT: return settle(msg[1], (msg[3] || [])[0]);
      case ERROR: return onError(msg[1], msg[2], msg[4], (msg[5] || [])[0]);
    }
  }

  function spend(token) {
    if (token && spentTokens.indexOf(token) < 0 && spentTokens.push(token) > 20) { spentTokens.shift(); }
  }

  function protocolError(text) {
    emit("error", {reason: "wamp.error.protocol_violation", message: text});
    ws.close(1002);
  }

  function onWelcome(id, details) {
    var extra = details.authextra || {};
    spend(ws.token);
    var lostSession = everJoined && !extra.resumed;
    // After a gateway restart (a new epoch) everything its history holds came after we lost it.
    var restartedSince = lostSession && epoch && extra.epoch !== epoch ? {epoch: epoch, seq: 0} : null;
    epoch = extra.epoch || null;
    sessionId = id;
    resumeSecret = extra.resume_secret || null;
    established = true;
    everJoined = true;
    attempt = 0;
    emit("connect", {session: id, authid: details.authid, authrole: details.authrole, epoch: extra.epoch,
                     resumed: !!extra.resumed});
    if (extra.resumed) {
      emit("resume", {resumed: true, recovered: extra.recovered !== false, gaps: extra.gaps || []});
    } else if (lostSession) {
      // A new session after the old one was lost: exact registrations subscribe with `since`, and the
      // gateway replays the history it holds; prefix and wildcard ones cannot ask for what they missed.
      var gaps = Object.keys(entries).filter(function (k) { return entries[k].match !== "exact"; })
        .map(function (k) { return entries[k].name; });
      emit("resume", {resumed: false, recovered: gaps.length === 0, gaps: gaps});
    }
    Object.keys(entries).forEach(function (key) { subscribe(entries[key], restartedSince); });
    queuedCalls.splice(0).forEach(function (call) { sendCall(call); });
  }

  function onAbort(details, reason) {
    var text = details.message || reason;
    if (reason === "telegraphy.error.no_such_session") {  // e.g. the gateway restarted: start afresh
      resumeSecret = null;
      retryNow = true;
    }
    emit("error", {reason: reason, message: text});
  }

  function onSubscribed(request, subscriptionId) {
    var pending = requests[request];
    delete requests[request];
    if (!pending) { return; }
    var entry = pending.entry;
    if (entries[entry.key] !== entry) {  // unregistered while the SUBSCRIBE was on its way
      send([UNSUBSCRIBE, ++nextRequest, subscriptionId]);
      return;
    }
    entry.subscription = subscriptionId;
    bySubscription[subscriptionId] = entry;
  }

  function onEvent(subscriptionId, details, args) {
    var entry = bySubscription[subscriptionId];
    var tEvent = args[0];
    if (!entry || !tEvent || seenBefore(entry, details.topic || entry.name, details, tEvent)) { return; }
    entry.handles.slice().forEach(function (handle) {
      try { handle.callback(tEvent, details); } catch (exc) { report(exc); }
    });
  }

  /* Whether this event was delivered already (same epoch and a seq not after the last one, or the
     same event id); otherwise remember it. Replays after a reconnect may overlap what was shown. */
  function seenBefore(entry, topic, details, tEvent) {
    var last = entry.seen[topic];
    var id = tEvent.meta && tEvent.meta.id;
    var seq = details.seq;
    if (typeof seq === "number" && last && last.epoch === details.epoch && seq <= last.seq) { return true; }
    if (id && entry.ids.has(id)) { return true; }
    if (typeof seq === "number") { entry.seen[topic] = {epoch: details.epoch, seq: seq}; }
    if (id) {
      entry.ids.add(id);
      if (entry.ids.size > REMEMBERED_IDS) { entry.ids.delete(entry.ids.values().next().value); }
    }
    return false;
  }

  function onError(requestType, request, uri, text) {
    var pending = requests[request];
    delete requests[request];
    if (requestType === SUBSCRIBE && pending) {  // e.g. an invalid filter: this registration cannot work
      if (entries[pending.entry.key] === pending.entry) { delete entries[pending.entry.key]; }
      emit("error", {reason: uri, message: text || uri, name: pending.entry.name, filter: pending.entry.filter});
    } else if (requestType === CALL && pending) {
      pending.reject(callError(uri, text || uri));
    } else {
      emit("error", {reason: uri, message: text || uri});
    }
  }

  // -- subscriptions -------------------------------------------------------------------------
  /* SUBSCRIBE; an exact one asks for the history after the last event it showed (or `since`). */
  function subscribe(entry, since) {
    var request = ++nextRequest;
    var options = {};
    if (entry.match !== "exact") { options.match = entry.match; }
    if (entry.filter) { options.filter = entry.filter; }
    if (entry.persistent) { options.persistent = true; }
    since = entry.seen[entry.name] || since;
    if (entry.match === "exact" && since) { options.since = since; }
    requests[request] = {entry: entry};
    send([SUBSCRIBE, request, options, entry.name]);
  }

  function register(name, callback, options) {
    options = options || {};
    if (typeof name !== "string" || !name) { throw new TypeError("Telegraphy.register: the event name must be a non-empty string"); }
    if (typeof callback !== "function") { throw new TypeError("Telegraphy.register: the callback must be a function"); }
    var match = options.match || "exact";
    if (MATCHES.indexOf(match) < 0) { throw new TypeError("Telegraphy.register: match must be one of " + MATCHES.join(", ")); }
    if (options.filter != null && typeof options.filter !== "string") { throw new TypeError("Telegraphy.register: filter must be a string"); }
    var key = match + " " + name + " " + (options.filter || "");
    var entry = entries[key], fresh = !entry;
    if (fresh) {
      entry = entries[key] = {key: key, name: name, match: match, filter: options.filter || null,
                              persistent: false, handles: [], subscription: null, seen: {}, ids: new Set()};
    }
    entry.persistent = entry.persistent || !!options.persistent;  // from its next SUBSCRIBE on
    if (fresh && established) { subscribe(entry); }
    var handle = {id: ++nextHandle, name: name, callback: callback, entry: entry,
                  unregister: function () { return unregister(handle); }};
    entry.handles.push(handle);
    kick();  // soon, not now: let the page attach its listeners first
    return handle;
  }

  /* unregister(handle), unregister(name) or unregister(name, callback); returns how many were removed. */
  function unregister(what, callback) {
    var removed = 0;
    Object.keys(entries).forEach(function (key) {
      var entry = entries[key];
      var before = entry.handles.length;
      entry.handles = entry.handles.filter(function (h) {
        if (typeof what === "object") { return h !== what; }
        return h.name !== what || (callback !== undefined && h.callback !== callback);
      });
      removed += before - entry.handles.length;
      if (!entry.handles.length) {
        delete entries[key];
        if (entry.subscription !== null && established) {
          delete bySubscription[entry.subscription];
          send([UNSUBSCRIBE, ++nextRequest, entry.subscription]);
        }
      }
    });
    return removed;
  }

  // -- calls ---------------------------------------------------------------------------------
  function callError(uri, text) {
    var exc = new Error(text);
    exc.uri = uri;
    return exc;
  }

  function call(procedure, args, kwargs) {
    return new Promise(function (resolve, reject) {
      var c = {procedure: procedure, args: args === undefined ? [] : Array.isArray(args) ? args : [args],
               kwargs: kwargs || {}, resolve: resolve, reject: reject};
      if (established) { sendCall(c); } else { queuedCalls.push(c); kick(); }
    });
  }

  function sendCall(c) {
    var request = ++nextRequest;
    requests[request] = c;
    send([CALL, request, {}, c.procedure, c.args, c.kwargs]);
  }

  function settle(request, value) {
    var pending = requests[request];
    delete requests[request];
    if (pending && pending.resolve) { pending.resolve(value); }
  }

  // -- public API ----------------------------------------------------------------------------
  var Telegraphy = {
    /* configure({url, realm, token, tokenUrl, debug, retryDelay, maxRetryDelay}) */
    configure: function (options) {
      Object.keys(options || {}).forEach(function (key) { configured[key] = options[key]; });
      stopped = false;
      kick();
      return Telegraphy;
    },
    register: register,
    unregister: unregister,
    call: call,
    on: function (name, callback) {
      if (EVENTS.indexOf(name) < 0) { throw new TypeError("Telegraphy.on: the event must be one of " + EVENTS.join(", ")); }
      listeners[name].push(callback);
      return Telegraphy;
    },
    off: function (name, callback) {
      if (listeners[name]) { listeners[name] = listeners[name].filter(function (cb) { return cb !== callback; }); }
      return Telegraphy;
    },
    /* Reconnect now (after disconnect(), or to skip the backoff wait). */
    connect: function () { stopped = false; attempt = 0; connect(); return Telegraphy; },
    /* Leave the session (GOODBYE) and stop reconnecting; registrations are kept for connect(). */
    disconnect: function () {
      stopped = true;
      clearTimeout(retryTimer);
      retryTimer = null;
      if (ws && established) { send([GOODBYE, {}, "wamp.close.close_realm"]); }
      if (ws) { ws.close(1000); }
    },
    get connected() { return established; },
    get session() { return sessionId; }
  };

  if (root.addEventListener) {  // the network is back: skip the rest of the backoff delay
    root.addEventListener("online", function () { if (retryTimer && !stopped) { attempt = 0; connect(); } });
  }

  root.Telegraphy = Telegraphy;
  if (typeof module === "object" && module.exports) { module.exports = Telegraphy; }
})(typeof window !== "undefined" ? window : this);
