/*! Bosco first-party tracking, snippet v1. No dependencies; never throws into the page. */
(function (w, d) {
  "use strict";
  var script = d.currentScript;
  if (!script || w.__boscoLoaded) return;
  w.__boscoLoaded = 1;
  var ID = "_bosco_id", MAX_BATCH = 20, DELAY = 1000;
  var key = script.getAttribute("data-key") || "";
  var endpoint = script.getAttribute("data-endpoint") ||
    new URL(script.src).origin + "/collect/v1/" + key;
  var needsConsent = script.getAttribute("data-consent") === "required";
  var consent = !needsConsent;
  var queue = [], timer = 0, visitor = "";
  var hint = rid();

  function noop() {}
  function rid() {
    var c = w.crypto;
    if (c && c.randomUUID) return c.randomUUID();
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.random() * 256;
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = "";
    for (var j = 0; j < 16; j++) h += (b[j] + 256).toString(16).slice(1) + ([3, 5, 7, 9].indexOf(j) > -1 ? "-" : "");
    return h;
  }
  function readCookie() {
    var m = d.cookie.match(/(?:^|; )_bosco_id=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : "";
  }
  function store(id) {
    var secure = location.protocol === "https:" ? "; Secure" : "";
    d.cookie = ID + "=" + id + "; Max-Age=34190000; Path=/; SameSite=Lax" + secure;
    try { w.localStorage.setItem(ID, id); } catch (e) { /* storage blocked: the cookie is enough */ }
  }
  function forget() {
    d.cookie = ID + "=; Max-Age=0; Path=/; SameSite=Lax";
    try { w.localStorage.removeItem(ID); } catch (e) { /* nothing stored */ }
  }
  // The visitor id exists only with consent (or when the workspace needs none): cookieless before.
  function ensureVisitor() {
    if (!consent) { visitor = ""; return; }
    if (!visitor) {
      var ls = "";
      try { ls = w.localStorage.getItem(ID) || ""; } catch (e) { ls = ""; }
      visitor = readCookie() || ls || rid();
    }
    store(visitor);
  }
  function send(events, unloading) {
    var body = JSON.stringify({ sent_at: Date.now(), events: events });
    var nav = w.navigator;
    if (unloading && nav.sendBeacon && nav.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }))) return;
    if (w.fetch) {
      w.fetch(endpoint, {
        method: "POST", body: body, keepalive: true, credentials: "omit", mode: "cors",
        headers: { "Content-Type": "text/plain" }
      }).catch(function () {
        // once more on a network error: the event ids make a repeat harmless
        setTimeout(function () { w.fetch(endpoint, { method: "POST", body: body, keepalive: true, credentials: "omit", mode: "cors", headers: { "Content-Type": "text/plain" } }).catch(noop); }, 3000);
      });
    } else if (nav.sendBeacon) {
      nav.sendBeacon(endpoint, new Blob([body], { type: "text/plain" }));
    }
  }
  function flush(unloading) {
    clearTimeout(timer); timer = 0;
    while (queue.length) send(queue.splice(0, MAX_BATCH), unloading);
  }
  function push(type, name, data, ref) {
    var event = { id: rid(), type: type, t: Date.now(), url: location.href, sid: hint, aid: visitor };
    if (name) event.name = String(name).slice(0, 200);
    if (ref) event.ref = d.referrer;
    if (data) event.data = data;
    queue.push(event);
    if (queue.length >= MAX_BATCH) flush(false);
    else if (!timer) timer = setTimeout(function () { flush(false); }, DELAY);
  }
  function copy(obj) {
    var out = {};
    if (obj && typeof obj === "object") for (var k in obj) if (Object.prototype.hasOwnProperty.call(obj, k)) out[k] = obj[k];
    return out;
  }
  // The e-mail leaves the page only as its SHA-256 where the browser can hash (secure pages);
  // elsewhere the server hashes it on arrival and never stores it.
  function withEmailHash(data, done) {
    var email = typeof data.email === "string" ? data.email.trim().toLowerCase() : "";
    var subtle = w.crypto && w.crypto.subtle;
    if (!email || !subtle || !w.TextEncoder) { done(data); return; }
    subtle.digest("SHA-256", new TextEncoder().encode(email)).then(function (buf) {
      var bytes = new Uint8Array(buf), hex = "";
      for (var i = 0; i < bytes.length; i++) hex += (bytes[i] + 256).toString(16).slice(1);
      delete data.email;
      data.email_sha256 = hex;
      done(data);
    }, function () { done(data); });
  }
  var commands = {
    page: function () { push("page_view", "", null, true); },
    track: function (name, props) { push("event", name, copy(props)); },
    identify: function (traits) { withEmailHash(copy(traits), function (data) { push("identify", "", data); }); },
    order: function (order) {
      if (!order || !order.order_id) return; // an order without its id could never be matched
      withEmailHash(copy(order), function (data) { push("order", "", data); flush(false); });
    },
    consent: function (granted) {
      consent = !needsConsent || !!granted;
      if (consent) ensureVisitor();
      else { forget(); visitor = ""; }
    }
  };
  function bosco(command) {
    try {
      var fn = commands[command];
      if (fn) fn.apply(null, Array.prototype.slice.call(arguments, 1));
    } catch (e) { /* a tracking problem must never break the page */ }
  }
  try {
    var earlier = (w.bosco && w.bosco.q) || [];
    w.bosco = bosco;
    if (consent) ensureVisitor();
    // consent given before the page view is counted is honoured for it
    for (var i = 0; i < earlier.length; i++) if (earlier[i][0] === "consent") bosco.apply(null, earlier[i]);
    if (script.getAttribute("data-auto") !== "false") commands.page();
    for (var j = 0; j < earlier.length; j++) if (earlier[j][0] !== "consent") bosco.apply(null, earlier[j]);
    w.addEventListener("pagehide", function () { flush(true); });
    d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") flush(true); });
  } catch (e) { /* never into the page */ }
})(window, document);
