/* The reading page: worklist navigation, the scoring panel, the keyboard, timing and sending.
 *
 * Flow: the page boots with the rater's worklist (in the HTML). It opens the first unfinished
 * image, prefetches the next ones, and on Enter stores the rating in the outbox (localStorage),
 * shows the next image at once, and lets the outbox send in the background.
 *
 * An item is one reading, known only by its opaque id (`item.item`): a test-retest repeat of an
 * image read earlier has an id, label and file URLs of its own, so nothing on the page tells it
 * from a first reading, and its panel opens empty (its own reading, not the first one).
 *
 * Keyboard model (one, said the same way in the panel's hint and the help): a digit scores the
 * highlighted dimension and the highlight stays there; Tab / Shift+Tab move it to the next /
 * previous dimension; Enter submits when every dimension is rated, and otherwise says what is
 * missing and highlights it. A digit that replaces a value already given says so.
 */
(function () {
  "use strict";

  var boot = JSON.parse(document.getElementById("reading-boot").textContent);
  var wl = boot.worklist;
  var study = wl.study;
  var PREFETCH_AHEAD = 3;
  var SKIP_REASONS = [
    "Wrong image or not the expected examination",
    "Cannot judge: artefact, cut-off or corrupt image",
    "The image does not load or display",
  ];

  var dims = {};
  wl.dimensions.forEach(function (d) { dims[d.id] = d; });
  var items = wl.items;

  var $ = function (sel) { return document.querySelector(sel); };
  var el = {
    viewport: $("#viewport"),
    viewerMessage: $("#viewer-message"),
    overlayTL: $("#overlay-tl"),
    overlayTR: $("#overlay-tr"),
    overlayBL: $("#overlay-bl"),
    overlayBR: $("#overlay-br"),
    label: $("#image-label"),
    progressText: $("#progress-text"),
    progressBar: $("#progress-bar span"),
    eta: $("#eta"),
    mode: $("#mode"),
    dims: $("#dimensions"),
    submit: $("#submit"),
    skip: $("#skip"),
    back: $("#back"),
    forward: $("#forward"),
    hint: $("#panel-hint"),
    banner: $("#banner"),
    help: $("#help"),
    skipDialog: $("#skip-dialog"),
    skipOther: $("#skip-other"),
    done: $("#done"),
    held: $("#held"),
    heldText: $("#held-text"),
  };

  // --- state ---------------------------------------------------------------------------------------

  var state = {
    pos: null,
    values: {}, // dimension key -> value, for the image on screen
    activeDim: 0,
    clock: null,
    showCriteria: false,
    sessionDurations: [],
    submitStarted: null, // performance.now() of the last submit, for the next-image latency
    said: null, // a line for the hint: a value just replaced, or why Enter did not submit
  };
  // Measurements the browser tests and bench/viewer.py read: exposed as window.__iqa only when
  // the server says so (settings.IQA_TEST_HOOKS), never in production.
  var probe = { switches: [], firstRenderMs: null, rendered: 0, errors: [] };
  if (document.body.dataset.testHooks === "1") window.__iqa = probe;

  var outbox = new IQAOutbox.Outbox("iqa-outbox:" + boot.user + ":" + study.id, {
    csrf: boot.csrf,
    onChange: function () { renderBanner(); renderHeld(); },
    onResult: outboxResult,
  });

  // The item an outbox entry is for (entries queued by an older page, by image id, have none:
  // they are still sent, and the server knows them).
  function itemFor(entry) {
    return entry.item ? items.find(function (i) { return i.item === entry.item; }) : undefined;
  }

  // Ratings still in this browser's outbox count as given (a reload before they were sent).
  outbox.items().forEach(function (it) {
    var item = itemFor(it);
    if (item) applyLocal(item, it);
  });

  function applyLocal(item, entry) {
    var body = entry.body;
    if (entry.kind === "submit") {
      item.status = body.skip_reason ? "skipped" : "submitted";
      item.mine = { client_id: body.client_id, status: item.status, ratings: body.ratings || {}, skip_reason: body.skip_reason || "" };
    } else if (entry.kind === "change" && item.mine) {
      item.mine.ratings = Object.assign({}, item.mine.ratings, body.ratings);
      item.mine.status = item.status = "submitted";
    }
  }

  function finished(item) { return item.status === "submitted" || item.status === "skipped"; }
  function nFinished() { return items.filter(finished).length; }
  function itemDims(item) { return item.dimensions.map(function (id) { return dims[id]; }).filter(Boolean); }
  function current() { return state.pos === null ? null : items[state.pos]; }

  // --- viewer ----------------------------------------------------------------------------------------

  var viewer = new IQAViewer.Viewer(el.viewport, {
    onChange: function () { renderOverlay(); },
    onRendered: function () { onImageRendered(); },
  });

  function onImageRendered() {
    var clock = state.clock;
    if (!clock || clock.renderedAt !== null) return;
    clock.rendered();
    probe.rendered += 1;
    if (probe.firstRenderMs === null) probe.firstRenderMs = performance.now();
    if (state.submitStarted !== null) {
      var started = state.submitStarted;
      var record = { position: state.pos, ms: performance.now() - started, frame_ms: null };
      probe.switches.push(record);
      requestAnimationFrame(function () { record.frame_ms = performance.now() - started; });
      state.submitStarted = null;
    }
    el.viewerMessage.hidden = true;
    renderPanel();
    tickMinView();
  }

  function renderOverlay() {
    var item = current();
    var s = viewer.state();
    if (!item || s.window_width === undefined) {
      el.overlayBL.textContent = el.overlayTR.textContent = el.overlayTL.textContent = el.overlayBR.textContent = "";
      return;
    }
    el.overlayTL.textContent = s.n_slices > 1 ? "Slice " + (s.slice + 1) + " / " + s.n_slices : "";
    el.overlayTR.textContent = viewer.presetName();
    el.overlayBL.textContent = "W " + Math.round(s.window_width) + "  L " + Math.round(s.window_center) +
      "  ·  " + Math.round(s.zoom * 100) + "%" + (s.invert ? "  ·  inverted" : "") +
      (s.pixel_replication ? "  ·  pixels" : "");
    el.overlayBR.textContent = "Left drag: " + (viewer.leftTool === "Pan" ? "pan" : "window") +
      "  ·  right drag: " + (viewer.leftTool === "Pan" ? "window" : "pan");
  }

  // --- opening an image ---------------------------------------------------------------------------

  function open(pos) {
    if (pos < 0 || pos >= items.length) return;
    hideDone();
    state.pos = pos;
    var item = items[pos];
    state.values = item.mine && item.mine.ratings ? Object.assign({}, item.mine.ratings) : {};
    state.clock = new IQATiming.ReadingClock(study.idle_threshold_ms);
    var list = itemDims(item);
    state.activeDim = firstUnanswered(list);
    state.said = null;
    el.label.textContent = item.label;
    el.viewerMessage.hidden = true;
    // An assisted-reading study's model panel (assist.js) follows the open item; an item
    // carries `model` only in such a study (the server sends nothing to blinded raters).
    // It may load after the first item opened: it reads the last one from `iqaItem`.
    el.viewport.iqaItem = { model: item.model || null };
    el.viewport.dispatchEvent(new CustomEvent("iqa:item", { detail: el.viewport.iqaItem }));
    renderPanel();
    renderProgress();
    var cached = item.image_ids.length && viewer.isCached(item.image_ids[0]);
    if (!cached) {
      el.viewerMessage.textContent = "Loading…";
      el.viewerMessage.hidden = false;
    }
    viewer.show(item.image_ids, item.modality).then(function () {
      prefetchAhead();
    }).catch(function (err) {
      if (state.pos !== pos) return;
      probe.errors.push(String(err && (err.message || err.error || err)));
      el.viewerMessage.textContent = "This image could not be displayed. You can skip it (S) with a reason.";
      el.viewerMessage.hidden = false;
      prefetchAhead();
    });
  }

  function firstUnanswered(list) {
    for (var i = 0; i < list.length; i++) if (state.values[list[i].key] === undefined) return i;
    return 0;
  }

  // The next images the rater will see, fetched and decoded now so they show in a frame or two.
  function prefetchAhead() {
    var ids = [];
    var pos = state.pos;
    for (var i = 1, n = 0; pos + i < items.length && n < PREFETCH_AHEAD; i++) {
      var item = items[pos + i];
      if (finished(item)) continue;
      ids.push(item.image_ids[0]);
      n += 1;
    }
    if (pos > 0) ids.push(items[pos - 1].image_ids[0]); // going back is instant too
    viewer.prefetch(ids.filter(Boolean), 1);
  }

  function nextPosition(from) {
    for (var i = from + 1; i < items.length; i++) if (!finished(items[i])) return i;
    for (var j = 0; j <= from && j < items.length; j++) if (!finished(items[j])) return j;
    return null;
  }

  // --- scoring panel ------------------------------------------------------------------------------

  function optionsFor(d) {
    if (d.kind === "binary") return [{ value: 1, label: "Acceptable", key: "1" }, { value: 0, label: "Non-acceptable", key: "2" }];
    if (d.kind === "category") {
      return d.categories.map(function (label, i) { return { value: i, label: String(label), key: i < 10 ? String((i + 1) % 10) : "" }; });
    }
    var out = [];
    for (var v = d.min_value; v <= d.max_value; v++) out.push({ value: v, label: String(v), key: v >= 1 && v <= 10 ? String(v % 10) : "" });
    return out;
  }

  function renderPanel() {
    var item = current();
    el.dims.textContent = "";
    if (!item) return;
    var list = itemDims(item);
    list.forEach(function (d, idx) {
      var box = document.createElement("section");
      box.className = "dim" + (idx === state.activeDim ? " active" : "") + (state.values[d.key] !== undefined ? " answered" : "");
      box.dataset.key = d.key;
      var head = document.createElement("div");
      head.className = "dim-head";
      var title = document.createElement("h3");
      title.textContent = d.label;
      head.appendChild(title);
      var val = document.createElement("span");
      val.className = "dim-value";
      var v = state.values[d.key];
      val.textContent = v === undefined ? "—" : valueLabel(d, v);
      head.appendChild(val);
      box.appendChild(head);
      var opts = document.createElement("div");
      opts.className = "options kind-" + d.kind;
      optionsFor(d).forEach(function (o) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "opt" + (v === o.value ? " selected" : "");
        b.dataset.value = o.value;
        b.setAttribute("aria-pressed", v === o.value ? "true" : "false");
        b.title = o.key ? "Key " + o.key : "";
        b.textContent = o.label;
        if (d.kind !== "score" && o.key) {
          var k = document.createElement("kbd");
          k.textContent = o.key;
          b.prepend(k);
        }
        b.addEventListener("click", function () { state.activeDim = idx; setValue(d, o.value); });
        opts.appendChild(b);
      });
      box.appendChild(opts);
      if (d.criteria && (state.showCriteria || idx === state.activeDim)) {
        var c = document.createElement("p");
        c.className = "criteria";
        c.textContent = d.criteria;
        box.appendChild(c);
      }
      // On click, not mousedown: re-rendering the panel at mousedown removed the button under the
      // pointer, so a click on another dimension's option was lost (it took two clicks).
      box.addEventListener("click", function () { if (state.activeDim !== idx) { state.activeDim = idx; renderPanel(); } });
      el.dims.appendChild(box);
    });
    var mine = item.mine;
    el.mode.hidden = !mine;
    if (mine) {
      el.mode.textContent = mine.status === "skipped"
        ? "Skipped (" + (mine.skip_reason || "no reason") + "). Rate it now to replace the skip."
        : "Already rated. Change a value and press Enter: the old value is kept.";
    }
    el.back.disabled = state.pos === 0;
    el.forward.disabled = !finished(item) || state.pos >= items.length - 1;
    el.skip.disabled = !!mine;
    updateSubmit();
  }

  function valueLabel(d, v) {
    if (d.kind === "binary") return v === 1 ? "Acceptable" : "Non-acceptable";
    if (d.kind === "category") return String(d.categories[v]);
    return String(v);
  }

  // The highlight stays on the dimension just scored (Tab moves it): a key pressed by habit
  // never lands on another dimension unseen. Replacing a value is said in the hint line.
  function setValue(d, value) {
    var before = state.values[d.key];
    state.values[d.key] = value;
    if (state.clock) state.clock.dimensionInput(d.key);
    state.said = before !== undefined && before !== value
      ? d.label + " changed from " + valueLabel(d, before) + " to " + valueLabel(d, value) + "."
      : null;
    renderPanel();
    if (state.said) flash(el.hint);
  }

  function missingDims() {
    var item = current();
    return item ? itemDims(item).filter(function (d) { return state.values[d.key] === undefined; }) : [];
  }

  function remainingViewMs() {
    if (!study.min_view_ms || !state.clock) return 0;
    var item = current();
    if (item && item.mine) return 0; // a change of an earlier rating
    if (state.clock.renderedAt === null) return study.min_view_ms;
    return Math.max(0, study.min_view_ms - state.clock.viewedMs());
  }

  var minViewTimer = null;
  function tickMinView() {
    clearTimeout(minViewTimer);
    updateSubmit();
    if (remainingViewMs() > 0) minViewTimer = setTimeout(tickMinView, 200);
  }

  function updateSubmit() {
    var missing = missingDims();
    var wait = remainingViewMs();
    el.submit.disabled = missing.length > 0 || wait > 0 || !current();
    if (wait > 0) {
      el.submit.textContent = "Submit in " + Math.ceil(wait / 1000) + " s";
    } else {
      el.submit.textContent = current() && current().mine ? "Save and next" : "Submit and next";
    }
    var todo = missing.length ? "Still to rate: " + missing.map(function (d) { return d.label; }).join(", ") + " (Tab moves to the next dimension)." : "";
    el.hint.textContent = [state.said, todo].filter(Boolean).join(" ");
  }

  // --- progress ---------------------------------------------------------------------------------

  function median(values) {
    if (!values.length) return null;
    var s = values.slice().sort(function (a, b) { return a - b; });
    var m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  function renderProgress() {
    var done = nFinished(), total = items.length;
    var where = state.pos === null ? total + " images" : "Image " + (state.pos + 1) + " of " + total;
    el.progressText.textContent = where + "  ·  " + done + " finished  ·  " + (total - done) + " remaining";
    el.progressBar.style.width = (total ? (100 * done) / total : 0) + "%";
    var per = median(state.sessionDurations) || wl.median_ms;
    var left = total - done;
    if (!left) el.eta.textContent = "All images finished";
    else if (per) el.eta.textContent = formatDuration(per * left) + " left (estimate)";
    else el.eta.textContent = "";
  }

  function formatDuration(ms) {
    var min = Math.round(ms / 60000);
    if (min < 1) return "Less than a minute";
    if (min < 60) return "About " + min + " min";
    return "About " + Math.floor(min / 60) + " h " + (min % 60) + " min";
  }

  // --- submitting ---------------------------------------------------------------------------------

  function timingReport() {
    var report = state.clock.stop();
    report.counts = Object.assign({}, viewer.counts);
    report.viewport = viewer.state();
    report.min_view_ms = study.min_view_ms;
    return report;
  }

  function submit() {
    var item = current();
    if (!item) return;
    var missing = missingDims();
    if (missing.length) {
      // Enter with a dimension unrated: say it where the eyes are, and highlight the first one.
      state.activeDim = itemDims(item).indexOf(missing[0]);
      state.said = "Not submitted yet.";
      renderPanel();
      notice("Not submitted: rate " + missing.map(function (d) { return d.label; }).join(", ") + " first.", true);
      flash(el.hint);
      return;
    }
    if (remainingViewMs() > 0) { flash(el.submit); return; }
    state.submitStarted = performance.now();
    var list = itemDims(item);
    var ratings = {};
    list.forEach(function (d) { ratings[d.key] = state.values[d.key]; });
    if (item.mine) {
      var changed = item.mine.status === "skipped" || list.some(function (d) { return item.mine.ratings[d.key] !== ratings[d.key]; });
      if (changed) {
        var change = {
          kind: "change", item: item.item, method: "PATCH",
          url: boot.api + "assessments/" + item.mine.client_id + "/",
          body: { ratings: ratings, edit_id: IQAOutbox.uuid4(), timing: timingReport() },
          // What the page showed before, to put back if the server refuses the change.
          before: { status: item.status, ratings: Object.assign({}, item.mine.ratings) },
        };
        outbox.add(change);
        applyLocal(item, change);
      }
    } else {
      var timing = timingReport();
      state.sessionDurations.push(timing.submitted_ms);
      var entry = {
        kind: "submit", item: item.item, method: "POST", url: boot.api + "assessments/",
        body: { client_id: IQAOutbox.uuid4(), item: item.item, ratings: ratings, timing: timing },
      };
      outbox.add(entry);
      applyLocal(item, entry);
    }
    advance();
  }

  function skip(reason) {
    var item = current();
    if (!item || item.mine) return;
    state.submitStarted = performance.now();
    var entry = {
      kind: "submit", item: item.item, method: "POST", url: boot.api + "assessments/",
      body: { client_id: IQAOutbox.uuid4(), item: item.item, skip_reason: reason, timing: timingReport() },
    };
    outbox.add(entry);
    applyLocal(item, entry);
    advance();
  }

  function advance() {
    var next = nextPosition(state.pos);
    renderProgress();
    if (next === null) { showDone(); return; }
    open(next);
  }

  function outboxResult(entry, outcome, data) {
    var item = itemFor(entry);
    if (outcome === "stored") {
      if (item && data && item.mine) { item.mine.client_id = data.client_id; item.mine.status = data.status; }
      return;
    }
    if (outcome === "conflict" && data && data.existing_client_id && item) {
      // Rated in another tab: that reading stands; fetch it so going back shows it.
      notice("“" + item.label + "” had already been rated (in another tab?): that rating was kept.");
      reload(item, data.existing_client_id);
      return;
    }
    // Refused: what the page shows goes back to what the server has, and the rater is told why.
    // The refused rating itself stays in this browser (the held list) until the rater decides.
    var why = (data && data.detail) || "refused by the server (" + entry.refused.status + ").";
    var name = "“" + (item ? item.label : "An image") + "”";
    if (item && entry.kind === "submit") {
      item.status = "todo";
      item.mine = null;
      notice(name + " was not saved: " + why + " Your rating is kept in this browser (see above).", true);
    } else if (item && entry.kind === "change") {
      if (item.mine && entry.before) {
        item.mine.ratings = entry.before.ratings;
        item.mine.status = item.status = entry.before.status;
      }
      notice("Your change to " + name + " was not saved: " + why + " The values shown are the saved ones again.", true);
      if (item.mine) reload(item, item.mine.client_id);
    } else {
      notice(name + " was not saved: " + why, true);
    }
    renderProgress();
    if (item && current() === item) open(state.pos);
  }

  // The server's own version of one of the rater's readings, shown when it is on screen.
  function reload(item, clientId) {
    fetch(boot.api + "assessments/" + clientId + "/", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (a) {
        if (!a || a.item !== item.item) return;
        item.mine = a;
        item.status = a.status;
        renderProgress();
        if (current() === item) open(state.pos);
      })
      .catch(function () {});
  }

  // --- done screen, banner, notices ------------------------------------------------------------------

  function showDone() {
    state.pos = null;
    viewer.clear();
    el.dims.textContent = "";
    el.label.textContent = "";
    el.done.hidden = false;
    el.submit.disabled = true;
    el.back.disabled = items.length === 0;
    el.forward.disabled = true;
    el.skip.disabled = true;
    el.mode.hidden = true;
    el.hint.textContent = "";
    renderProgress();
    renderOverlay();
    el.done.querySelector("button").focus();
  }
  function hideDone() { el.done.hidden = true; }

  function renderBanner() {
    var pending = outbox.items().length;
    var err = outbox.lastError;
    if (err && pending) {
      var secs = outbox.retryAt ? Math.max(0, Math.round((outbox.retryAt - Date.now()) / 1000)) : 0;
      el.banner.className = "banner warn";
      el.banner.textContent = err.message + " " + pending + (pending === 1 ? " rating is" : " ratings are") +
        " kept safely in this browser and will be sent automatically" + (secs ? " (next try in " + secs + " s)." : ".");
      el.banner.hidden = false;
    } else if (pending > 2) {
      el.banner.className = "banner info";
      el.banner.textContent = "Sending " + pending + " ratings…";
      el.banner.hidden = false;
    } else {
      el.banner.hidden = true;
    }
  }
  setInterval(function () { if (outbox.lastError) renderBanner(); }, 1000);

  // Ratings the server refused: shown until the rater downloads, resends or discards them.
  function renderHeld() {
    var held = outbox.held();
    el.held.hidden = !held.length;
    if (!held.length) return;
    var last = held[held.length - 1].refused || {};
    el.heldText.textContent = (held.length === 1 ? "1 rating was" : held.length + " ratings were") +
      " not saved by the server" + (last.detail ? " (" + last.detail + ")" : "") +
      ". " + (held.length === 1 ? "It is" : "They are") + " kept in this browser: download " +
      (held.length === 1 ? "it" : "them") + " as a file for the study's coordinator, or send again.";
  }
  $("#held-download").addEventListener("click", function () {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(outbox.heldFile());
    a.download = "unsaved-ratings-study-" + study.id + ".json";
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
  });
  $("#held-retry").addEventListener("click", function () { outbox.retryHeld(); });
  $("#held-discard").addEventListener("click", function () {
    if (window.confirm("Discard the ratings the server did not save? They cannot be recovered.")) outbox.discardHeld();
  });

  var noticeTimer = null;
  function notice(text, isError) {
    var n = $("#notice");
    n.textContent = text;
    n.className = "notice" + (isError ? " error" : "");
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(function () { n.hidden = true; }, 9000);
  }

  function flash(node) {
    node.classList.remove("flash");
    void node.offsetWidth;
    node.classList.add("flash");
  }

  // --- overlays ---------------------------------------------------------------------------------

  function overlayOpen() { return !el.help.hidden || !el.skipDialog.hidden; }
  // Focus moves into the help while it is open (a screen reader starts reading there) and back
  // to where it was when it closes, so the keyboard flow of rating is not lost.
  var focusBeforeHelp = null;
  function toggleHelp(show) {
    var open = show === undefined ? el.help.hidden : show;
    if (open === !el.help.hidden) return;
    el.help.hidden = !open;
    if (open) {
      focusBeforeHelp = document.activeElement;
      $("#help-close").focus();
    } else {
      // The body cannot take focus: then the viewport does (focus must leave the hidden button
      // now, not at the browser's next focus fix-up).
      var back = focusBeforeHelp;
      if (!back || back === document.body || !document.contains(back)) back = el.viewport;
      back.focus();
      focusBeforeHelp = null;
    }
  }

  function openSkip() {
    var item = current();
    if (!item) return;
    if (item.mine) { notice("This image is already rated; change its values instead of skipping it."); return; }
    el.skipDialog.hidden = false;
    el.skipOther.value = "";
    el.skipDialog.querySelector("button[data-reason]").focus();
  }
  function closeSkip() { el.skipDialog.hidden = true; el.viewport.focus(); }

  el.skipDialog.querySelectorAll("button[data-reason]").forEach(function (b) {
    b.addEventListener("click", function () { closeSkip(); skip(SKIP_REASONS[+b.dataset.reason]); });
  });
  $("#skip-other-go").addEventListener("click", function () {
    var text = el.skipOther.value.trim();
    if (!text) { el.skipOther.focus(); return; }
    closeSkip();
    skip(text);
  });
  $("#skip-cancel").addEventListener("click", closeSkip);
  $("#help-close").addEventListener("click", function () { toggleHelp(false); });
  $("#help-button").addEventListener("click", function () { toggleHelp(true); });

  // --- keyboard ---------------------------------------------------------------------------------

  function onKey(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var k = e.key;
    if (!el.skipDialog.hidden) {
      if (k === "Escape") { e.preventDefault(); closeSkip(); return; }
      if (e.target === el.skipOther) {
        if (k === "Enter") { e.preventDefault(); $("#skip-other-go").click(); }
        return;
      }
      if (k >= "1" && k <= String(SKIP_REASONS.length)) { e.preventDefault(); closeSkip(); skip(SKIP_REASONS[+k - 1]); }
      else if (k === String(SKIP_REASONS.length + 1)) { e.preventDefault(); el.skipOther.focus(); }
      return;
    }
    if (!el.help.hidden) {
      if (k === "Escape" || k === "?" || k === "h" || k === "H") { e.preventDefault(); toggleHelp(false); }
      return;
    }
    if (e.target && (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA")) return;
    var item = current();
    var handled = true;
    viewer.newGesture();
    if (/^[0-9]$/.test(k) && item) {
      var list = itemDims(item), d = list[state.activeDim];
      if (d) {
        var digit = +k, opt = optionsFor(d).find(function (o) { return o.key === String(digit); });
        if (opt) setValue(d, opt.value);
        else flash(el.dims.children[state.activeDim]);
      }
    } else if (k === "Enter") {
      if (state.pos === null) handled = false;
      else submit();
    } else if (k === "Tab") {
      if (item) {
        var n = itemDims(item).length;
        state.activeDim = (state.activeDim + (e.shiftKey ? n - 1 : 1)) % Math.max(1, n);
        state.said = null;
        renderPanel();
      }
    } else if (k === "ArrowLeft" && e.shiftKey) viewer.panBy(-40, 0);
    else if (k === "ArrowRight" && e.shiftKey) viewer.panBy(40, 0);
    else if (k === "ArrowUp" && e.shiftKey) viewer.panBy(0, -40);
    else if (k === "ArrowDown" && e.shiftKey) viewer.panBy(0, 40);
    else if (k === "ArrowLeft" || k === "Backspace") goBack();
    else if (k === "ArrowRight") goForward();
    else if (k === "ArrowUp" || k === "PageUp") viewer.scroll(k === "PageUp" ? -10 : -1);
    else if (k === "ArrowDown" || k === "PageDown") viewer.scroll(k === "PageDown" ? 10 : 1);
    else if (k === "Home") viewer.scroll(-1e6);
    else if (k === "End") viewer.scroll(1e6);
    else if (k === "s" || k === "S") openSkip();
    else if (k === "f" || k === "F") viewer.fit();
    else if (k === "r" || k === "R") viewer.reset();
    else if (k === "i" || k === "I") viewer.toggleInvert();
    else if (k === "n" || k === "N") viewer.togglePixelReplication();
    else if (k === "+" || k === "=") viewer.zoomBy(1.2);
    else if (k === "-" || k === "_") viewer.zoomBy(1 / 1.2);
    else if (k === "v") viewer.cyclePreset(1);
    else if (k === "V") viewer.cyclePreset(-1);
    else if (k === "[") viewer.adjustWindow(1 / 1.15, 0);
    else if (k === "]") viewer.adjustWindow(1.15, 0);
    else if (k === ";") viewer.adjustWindow(1, -0.05);
    else if (k === "'") viewer.adjustWindow(1, 0.05);
    else if (k === "p" || k === "P") viewer.setLeftTool("Pan");
    else if (k === "w" || k === "W") viewer.setLeftTool("Wwwc");
    else if (k === "c" || k === "C") { state.showCriteria = !state.showCriteria; renderPanel(); }
    else if (k === "?" || k === "h" || k === "H") toggleHelp(true);
    else handled = false;
    if (handled) e.preventDefault();
  }

  function goBack() {
    if (state.pos === null) { if (items.length) open(lastFinished()); return; }
    if (state.pos > 0) open(state.pos - 1);
  }
  function goForward() {
    var item = current();
    if (item && finished(item) && state.pos < items.length - 1) open(state.pos + 1);
  }
  function lastFinished() {
    for (var i = items.length - 1; i >= 0; i--) if (finished(items[i])) return i;
    return 0;
  }

  document.addEventListener("keydown", onKey);
  el.submit.addEventListener("click", submit);
  el.skip.addEventListener("click", openSkip);
  el.back.addEventListener("click", goBack);
  el.forward.addEventListener("click", goForward);
  el.done.querySelector("button").addEventListener("click", goBack);

  // Presence, for active time: any input, and the tab's visibility and focus.
  ["pointerdown", "pointermove", "wheel", "keydown", "touchstart"].forEach(function (type) {
    window.addEventListener(type, function () { if (state.clock) state.clock.input(); }, { capture: true, passive: true });
  });
  ["visibilitychange", "focus", "blur"].forEach(function (type) {
    (type === "visibilitychange" ? document : window).addEventListener(type, function () {
      if (state.clock) state.clock.engagementChanged();
    });
  });
  window.addEventListener("beforeunload", function (e) {
    if (outbox.items().length && outbox.lastError) { e.preventDefault(); e.returnValue = ""; }
  });

  // --- start ----------------------------------------------------------------------------------

  probe.outbox = function () { return outbox.items().length; };
  probe.current = function () { var item = current(); return item ? item.item : null; };
  probe.held = function () { return outbox.held().length; };
  probe.position = function () { return state.pos; };
  probe.viewer = viewer;
  probe.state = state;
  renderBanner();
  renderHeld();
  if (!items.length) {
    el.viewerMessage.textContent = "This study has no images yet.";
    el.viewerMessage.hidden = false;
    renderProgress();
  } else {
    // Resume where the rater left off: the first image without a finished reading.
    var start = nextPosition(-1);
    if (start === null) showDone();
    else open(start);
  }
  outbox.kick();
})();
