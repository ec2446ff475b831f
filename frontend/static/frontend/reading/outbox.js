/* No rating lost: every submission goes through a queue kept in localStorage before it is sent.
 *
 * The queue survives a reload, a crash and a lost connection. Items are sent in order, one at a
 * time, with the client ids that make the server idempotent (a retry stores nothing twice).
 * A network error or a 5xx keeps the item and retries with backoff; the page says so plainly.
 * Tabs of the same rater share the queue (same storage key) and take a Web Lock to send, so one
 * tab sends at a time; a replay by another tab is harmless anyway, thanks to the client ids.
 *
 * A rating the server did not store never just disappears. Answers are told apart by status
 * and the API's machine-readable `code` (iqa_platform/api_errors.py), never by message text:
 * - 2xx: stored;
 * - no answer, 5xx, 408, 429: kept in the queue, retried with backoff;
 * - 401, or 403 coded not_authenticated / authentication_failed / csrf_failed: kept in the
 *   queue, retried (it goes once the rater logs in again);
 * - anything else (400, 403 permission_denied, 404, 409, an unknown 403 from a proxy...): refused.
 *   The entry moves from the queue to the "held" list (also in localStorage) with the answer;
 *   the page shows it until the rater downloads it as a file, sends it again or discards it.
 */
(function () {
  "use strict";

  var BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
  // 403s that mean "not logged in (any more)": the rating goes once the rater logs in again.
  var AUTH_CODES = ["not_authenticated", "authentication_failed", "csrf_failed"];

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function csrfToken(fallback) {
    var m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : fallback;
  }

  function Outbox(key, options) {
    this.key = key;
    this.heldKey = key + ":held";
    this.csrf = options.csrf;
    this.onChange = options.onChange || function () {};
    this.onResult = options.onResult || function () {};
    this.sending = false;
    this.failures = 0;
    this.retryAt = null;
    this.lastError = null;
    this._timer = null;
    var self = this;
    window.addEventListener("storage", function (e) {
      if (e.key === self.key || e.key === self.heldKey) self.onChange(self);
    });
    window.addEventListener("online", function () { self.kick(true); });
  }

  Outbox.prototype.items = function () {
    try { return JSON.parse(localStorage.getItem(this.key) || "[]"); }
    catch (e) { return []; }
  };

  Outbox.prototype._save = function (items) {
    localStorage.setItem(this.key, JSON.stringify(items));
  };

  Outbox.prototype.add = function (item) {
    item.id = item.id || uuid4();
    item.queued_wall = Date.now();
    var items = this.items();
    items.push(item);
    this._save(items); // stored before anything else happens: a crash now loses nothing
    this.onChange(this);
    var self = this;
    // Sending waits for the next image to be on screen: the rater never waits for the network.
    setTimeout(function () { self.kick(); }, 0);
    return item;
  };

  Outbox.prototype._remove = function (id) {
    this._save(this.items().filter(function (it) { return it.id !== id; }));
  };

  // Ratings the server refused, kept with its answer until the rater decides what to do.
  Outbox.prototype.held = function () {
    try { return JSON.parse(localStorage.getItem(this.heldKey) || "[]"); }
    catch (e) { return []; }
  };

  Outbox.prototype._saveHeld = function (held) {
    localStorage.setItem(this.heldKey, JSON.stringify(held));
  };

  Outbox.prototype._hold = function (item, status, data) {
    var held = this.held().filter(function (it) { return it.id !== item.id; });
    item.refused = {
      status: status,
      code: (data && data.code) || null,
      detail: (data && data.detail) || null,
      at: new Date().toISOString(),
    };
    held.push(item);
    this._saveHeld(held); // kept aside first: a crash between the two writes loses nothing
    this._remove(item.id);
  };

  // Send held ratings again (e.g. after the coordinator reopened the study).
  Outbox.prototype.retryHeld = function () {
    var held = this.held();
    if (!held.length) return;
    var items = this.items();
    held.forEach(function (it) { delete it.refused; items.push(it); });
    this._save(items);
    this._saveHeld([]);
    this.onChange(this);
    this.kick(true);
  };

  Outbox.prototype.discardHeld = function () {
    this._saveHeld([]);
    this.onChange(this);
  };

  // The held ratings as a JSON file the rater can keep or send to the study's coordinator.
  Outbox.prototype.heldFile = function () {
    var text = JSON.stringify({ saved_at: new Date().toISOString(), ratings: this.held() }, null, 2);
    return new Blob([text], { type: "application/json" });
  };

  Outbox.prototype.kick = function (now) {
    if (now) { clearTimeout(this._timer); this._timer = null; this.retryAt = null; }
    if (this.sending || this._timer) return;
    var self = this;
    if (navigator.locks && navigator.locks.request) {
      navigator.locks.request(this.key, function () { return self._drain(); });
    } else {
      this._drain();
    }
  };

  Outbox.prototype._drain = async function () {
    if (this.sending) return;
    this.sending = true;
    try {
      for (;;) {
        var items = this.items();
        if (!items.length) break;
        var ok = await this._send(items[0]);
        if (!ok) break;
      }
    } finally {
      this.sending = false;
      this.onChange(this);
      // An item queued while the last request was in flight must not wait for the next kick.
      var self = this;
      if (!this._timer && this.items().length) setTimeout(function () { self.kick(); }, 0);
    }
  };

  // One attempt; true when the item is done with (stored, or refused for good).
  Outbox.prototype._send = async function (item) {
    var body = JSON.parse(JSON.stringify(item.body));
    if (body.timing) body.timing.sent_wall = Date.now();
    var response;
    try {
      response = await fetch(item.url, {
        method: item.method,
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          "Accept": "application/json",
          "X-CSRFToken": csrfToken(this.csrf),
        },
        body: JSON.stringify(body),
      });
    } catch (err) {
      return this._retryLater("The server cannot be reached.");
    }
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.ok) {
      this._remove(item.id);
      this.failures = 0;
      this.lastError = null;
      this.onResult(item, "stored", data);
      return true;
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) {
      return this._retryLater("The server answered " + response.status + ".");
    }
    var code = data && typeof data.code === "string" ? data.code : null;
    if (response.status === 401 || (response.status === 403 && AUTH_CODES.indexOf(code) >= 0)) {
      // Logged out (or a stale CSRF token): keep the rating; it goes once the rater logs in.
      return this._retryLater("Your session has ended: log in again in another tab; your ratings are kept here.", "auth");
    }
    // Refused (409: already rated elsewhere; 400: invalid; 403: no longer allowed...): not
    // stored, so kept aside and shown, never dropped; the queue goes on with the next rating.
    this._hold(item, response.status, data);
    this.onResult(item, response.status === 409 ? "conflict" : "refused", data);
    return true;
  };

  Outbox.prototype._retryLater = function (message, kind) {
    var delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.failures += 1;
    this.lastError = { message: message, kind: kind || "network" };
    this.retryAt = Date.now() + delay;
    var self = this;
    this._timer = setTimeout(function () { self._timer = null; self.kick(); }, delay);
    this.onChange(this);
    return false;
  };

  window.IQAOutbox = { Outbox: Outbox, uuid4: uuid4 };
})();
