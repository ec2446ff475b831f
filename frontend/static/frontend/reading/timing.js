/* Honest reading time for one image: opened, first rendered, submitted, and *active* time.
 *
 * Active time is the time the tab was visible and focused, without the idle gaps: the time
 * between two inputs (pointer, wheel, key) counts only if, of it, no more than the study's idle
 * threshold was spent visible and focused without any input. A gap longer than that is left out
 * whole (the rater was away, or the tab was left open). All durations use performance.now(),
 * which no clock change can move; the wall clock is sent only so the server can place them.
 */
(function () {
  "use strict";

  function now() { return performance.now(); }

  function engagedNow() {
    return document.visibilityState === "visible" && document.hasFocus();
  }

  function ReadingClock(idleThresholdMs) {
    this.idleThresholdMs = idleThresholdMs > 0 ? idleThresholdMs : 30000;
    this.openedAt = now();
    this.openedWall = Date.now();
    this.renderedAt = null;
    this.activeMs = 0;
    this.idleMs = 0; // engaged time left out as idle gaps
    this.hiddenMs = 0; // time not visible or not focused
    this.firstInput = {}; // dimension key -> ms after first render
    this.inputs = 0;
    this._lastInput = this.openedAt;
    this._engagedSinceInput = 0;
    this._engaged = engagedNow();
    this._stateSince = this.openedAt;
    this.stopped = false;
  }

  ReadingClock.prototype._settle = function (t) {
    // Close the running stretch (engaged or not) up to t.
    var span = t - this._stateSince;
    if (this._engaged) this._engagedSinceInput += span;
    else this.hiddenMs += span;
    this._stateSince = t;
  };

  ReadingClock.prototype.engagementChanged = function () {
    if (this.stopped) return;
    var t = now();
    this._settle(t);
    this._engaged = engagedNow();
  };

  ReadingClock.prototype.input = function () {
    if (this.stopped) return;
    var t = now();
    this._settle(t);
    if (this._engagedSinceInput <= this.idleThresholdMs) this.activeMs += this._engagedSinceInput;
    else this.idleMs += this._engagedSinceInput;
    this._engagedSinceInput = 0;
    this._lastInput = t;
    this.inputs += 1;
    // An input is proof of presence, whatever document.hasFocus() said a moment ago.
    this._engaged = engagedNow() || document.visibilityState === "visible";
  };

  ReadingClock.prototype.rendered = function () {
    if (this.renderedAt === null) this.renderedAt = now();
  };

  ReadingClock.prototype.dimensionInput = function (key) {
    if (this.firstInput[key] !== undefined) return;
    var base = this.renderedAt === null ? now() : this.renderedAt;
    this.firstInput[key] = Math.max(0, Math.round(now() - base));
  };

  ReadingClock.prototype.viewedMs = function () {
    return this.renderedAt === null ? 0 : now() - this.renderedAt;
  };

  // The submission closes the clock: the submitting key press is the last input.
  ReadingClock.prototype.stop = function () {
    if (!this.stopped) {
      this.input();
      this.stopped = true;
      this.submittedAt = now();
      this.submittedWall = Date.now();
    }
    return this.report();
  };

  ReadingClock.prototype.report = function () {
    var end = this.stopped ? this.submittedAt : now();
    return {
      opened_wall: this.openedWall,
      submitted_wall: this.stopped ? this.submittedWall : Date.now(),
      rendered_ms: this.renderedAt === null ? null : Math.round(this.renderedAt - this.openedAt),
      submitted_ms: Math.round(end - this.openedAt),
      active_ms: Math.round(this.activeMs),
      idle_ms: Math.round(this.idleMs),
      hidden_ms: Math.round(this.hiddenMs),
      idle_threshold_ms: this.idleThresholdMs,
      inputs: this.inputs,
      first_input_ms: Object.assign({}, this.firstInput),
    };
  };

  window.IQATiming = { ReadingClock: ReadingClock };
})();
