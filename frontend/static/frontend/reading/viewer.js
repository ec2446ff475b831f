/* The DICOM viewer: cornerstone-core + the WADO-URI image loader + cornerstone-tools.
 *
 * Every image is displayed with its own default viewport (fit to window, the file's window,
 * MONOCHROME1 inverted as the standard says), never the previous image's: otherwise zoom,
 * window and inversion would carry over to the next image.
 *
 * Interactions are counted per gesture (one drag, one burst of wheel turns, one key press):
 * the rendered viewport is compared with the last one, and a change of scale / translation /
 * VOI counts once per gesture as zoom / pan / window. Fit and reset are counted on their own.
 */
(function () {
  "use strict";

  var cs = window.cornerstone;
  var loader = window.cornerstoneWADOImageLoader;
  var tools = window.cornerstoneTools;

  var RADIOGRAPHY = ["CR", "DX", "DR", "MG", "RF", "XA", "IO", "PX"];
  var CT_PRESETS = [
    { name: "Soft tissue", ww: 400, wc: 40 },
    { name: "Lung", ww: 1500, wc: -600 },
    { name: "Mediastinum", ww: 350, wc: 50 },
    { name: "Bone", ww: 1800, wc: 400 },
    { name: "Brain", ww: 80, wc: 40 },
  ];
  var WHEEL_GESTURE_GAP_MS = 350;
  var MIN_SCALE = 0.05, MAX_SCALE = 40;

  var initialised = false;
  function initLibraries() {
    if (initialised) return;
    initialised = true;
    loader.external.cornerstone = cs;
    loader.external.dicomParser = window.dicomParser;
    var cores = Math.max(1, Math.min(2, (navigator.hardwareConcurrency || 2) - 1));
    loader.webWorkerManager.initialize({
      maxWebWorkers: cores,
      startWebWorkersOnDemand: false,
      taskConfiguration: { decodeTask: { initializeCodecsOnStartup: false, strict: false } },
    });
    tools.external.cornerstone = cs;
    tools.external.cornerstoneMath = window.cornerstoneMath;
    tools.external.Hammer = window.Hammer;
    tools.init({ showSVGCursors: false, mouseEnabled: true, touchEnabled: true, globalToolSyncEnabled: false });
  }

  function Viewer(element, options) {
    initLibraries();
    this.element = element;
    this.onChange = options.onChange || function () {};
    this.onRendered = options.onRendered || function () {};
    this.imageIds = [];
    this.index = 0;
    this.image = null;
    this.presets = [];
    this.presetIndex = -1;
    this.leftTool = "Pan";
    // Smooth (bilinear) magnification by default; N shows the pixels themselves (nearest
    // neighbour), which a sharpness judgement at high zoom may want. A display preference of
    // the rater's, so it stays from image to image, unlike zoom, window and inversion.
    this.pixelReplication = false;
    this.counts = { zoom: 0, pan: 0, window: 0, scroll: 0, fit: 0, reset: 0, invert: 0, preset: 0 };
    this._gesture = 0;
    this._counted = {};
    this._lastWheel = 0;
    this._snapshot = null;
    this._fresh = false;
    this._programmatic = null;
    this._token = 0;
    this._renderWaiters = [];

    cs.enable(element);
    tools.addTool(tools.PanTool);
    tools.addTool(tools.WwwcTool);
    this._applyMouseTools();

    var self = this;
    element.addEventListener("contextmenu", function (e) { e.preventDefault(); });
    element.addEventListener("pointerdown", function () { self.newGesture(); }, true);
    element.addEventListener("touchstart", function () { self.newGesture(); }, { capture: true, passive: true });
    element.addEventListener("wheel", function (e) { self._wheel(e); }, { passive: false });
    element.addEventListener(cs.EVENTS.IMAGE_RENDERED, function (e) { self._rendered(e.detail); });
    var resizeTimer = null;
    window.addEventListener("resize", function () {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(function () { self.resize(); }, 60);
    });
  }

  Viewer.prototype._applyMouseTools = function () {
    var other = this.leftTool === "Pan" ? "Wwwc" : "Pan";
    tools.setToolActive(this.leftTool, { mouseButtonMask: this.leftTool === "Pan" ? [1, 4] : [1] });
    tools.setToolActive(other, { mouseButtonMask: other === "Pan" ? [2, 4] : [2] });
  };

  Viewer.prototype.setLeftTool = function (name) {
    this.leftTool = name === "Wwwc" ? "Wwwc" : "Pan";
    this._applyMouseTools();
    this.onChange(this);
  };

  Viewer.prototype.newGesture = function () { this._gesture += 1; };

  Viewer.prototype.resetCounts = function () {
    for (var k in this.counts) this.counts[k] = 0;
    this._counted = {};
  };

  Viewer.prototype._count = function (kind) {
    if (this._counted[kind] === this._gesture) return;
    this._counted[kind] = this._gesture;
    this.counts[kind] += 1;
  };

  Viewer.prototype._rendered = function (detail) {
    if (!detail || detail.image !== this.image) return;
    var vp = detail.viewport;
    var snap = {
      scale: vp.scale, x: vp.translation.x, y: vp.translation.y,
      ww: vp.voi.windowWidth, wc: vp.voi.windowCenter, invert: vp.invert,
    };
    if (this._fresh) {
      this._fresh = false;
    } else if (this._snapshot) {
      var prev = this._snapshot;
      var kind = this._programmatic;
      if (kind) {
        if (kind === "fit" || kind === "reset") this._count(kind);
      } else {
        if (Math.abs(snap.scale - prev.scale) > 1e-9) this._count("zoom");
        if (Math.abs(snap.x - prev.x) > 1e-6 || Math.abs(snap.y - prev.y) > 1e-6) this._count("pan");
        if (snap.ww !== prev.ww || snap.wc !== prev.wc) this._count("window");
      }
    }
    this._programmatic = null;
    this._snapshot = snap;
    var waiters = this._renderWaiters;
    this._renderWaiters = [];
    waiters.forEach(function (fn) { fn(); });
    this.onRendered(this);
    this.onChange(this);
  };

  // --- loading and display ---------------------------------------------------------------------

  Viewer.prototype.show = function (imageIds, modality) {
    var token = ++this._token;
    var self = this;
    this.imageIds = imageIds.slice();
    this.index = 0;
    this.modality = (modality || "").toUpperCase();
    this.resetCounts();
    if (!imageIds.length) return Promise.reject(new Error("This image has no DICOM file."));
    return cs.loadAndCacheImage(imageIds[0]).then(function (image) {
      if (token !== self._token) return null; // the rater has moved on
      self._displayNew(image);
      return self._nextRender().then(function () {
        if (token === self._token && imageIds.length > 1) self.prefetch(imageIds.slice(1), 2);
        return image;
      });
    });
  };

  Viewer.prototype._displayNew = function (image) {
    this.image = image;
    this._fresh = true;
    this._snapshot = null;
    this.presets = this._presetsFor(image);
    this.presetIndex = 0;
    cs.displayImage(this.element, image, this._defaultViewport(image));
  };

  Viewer.prototype._defaultViewport = function (image) {
    var vp = cs.getDefaultViewportForImage(this.element, image);
    vp.invert = !!image.invert; // MONOCHROME1 is shown inverted, and nothing else is
    vp.pixelReplication = this.pixelReplication;
    vp.hflip = false; vp.vflip = false; vp.rotation = 0;
    vp.translation = { x: 0, y: 0 };
    return vp;
  };

  Viewer.prototype._nextRender = function () {
    var self = this;
    return new Promise(function (resolve) { self._renderWaiters.push(resolve); });
  };

  Viewer.prototype.clear = function () {
    this._token += 1;
    this.image = null;
    try { cs.reset(this.element); } catch (e) { /* nothing displayed yet */ }
  };

  // Load images into cornerstone's cache (fetch + decode), a few at a time, newest request first.
  Viewer.prototype.prefetch = function (imageIds, concurrency) {
    var queue = imageIds.filter(function (id) { return !cs.imageCache.getImageLoadObject(id); });
    var running = 0;
    concurrency = concurrency || 1;
    function next() {
      while (running < concurrency && queue.length) {
        var id = queue.shift();
        running += 1;
        cs.loadAndCacheImage(id).catch(function () { /* shown when the rater gets there */ })
          .then(function () { running -= 1; next(); });
      }
    }
    next();
  };

  Viewer.prototype.isCached = function (imageId) {
    var entry = cs.imageCache.getImageLoadObject(imageId);
    return !!entry;
  };

  Viewer.prototype.resize = function () {
    if (!this.image) { try { cs.resize(this.element); } catch (e) { /* not enabled */ } return; }
    this._programmatic = "resize";
    cs.resize(this.element, false);
  };

  // --- viewport operations -------------------------------------------------------------------

  Viewer.prototype._vp = function () { return this.image ? cs.getViewport(this.element) : null; };
  Viewer.prototype._set = function (vp, programmatic) {
    if (programmatic) this._programmatic = programmatic;
    cs.setViewport(this.element, vp);
  };

  Viewer.prototype.fit = function () {
    if (!this.image) return;
    this._programmatic = "fit";
    cs.fitToWindow(this.element);
  };

  Viewer.prototype.reset = function () {
    if (!this.image) return;
    this.presetIndex = 0;
    this._set(this._defaultViewport(this.image), "reset");
  };

  Viewer.prototype.zoomBy = function (factor, pageX, pageY) {
    var vp = this._vp();
    if (!vp) return;
    var scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, vp.scale * factor));
    if (pageX !== undefined) {
      // Keep the image point under the pointer where it is.
      var before = cs.pageToPixel(this.element, pageX, pageY);
      vp.scale = scale;
      cs.setViewport(this.element, vp);
      var after = cs.pageToPixel(this.element, pageX, pageY);
      vp.translation.x += after.x - before.x;
      vp.translation.y += after.y - before.y;
    } else {
      vp.scale = scale;
    }
    this._set(vp);
  };

  Viewer.prototype.panBy = function (dx, dy) {
    var vp = this._vp();
    if (!vp) return;
    vp.translation.x += dx / vp.scale;
    vp.translation.y += dy / vp.scale;
    this._set(vp);
  };

  Viewer.prototype.setWindow = function (ww, wc) {
    var vp = this._vp();
    if (!vp) return;
    vp.voi.windowWidth = Math.max(1, ww);
    vp.voi.windowCenter = wc;
    this._set(vp);
  };

  Viewer.prototype.adjustWindow = function (widthFactor, levelStep) {
    var vp = this._vp();
    if (!vp) return;
    var step = levelStep * vp.voi.windowWidth;
    this.setWindow(vp.voi.windowWidth * widthFactor, vp.voi.windowCenter + step);
  };

  Viewer.prototype.toggleInvert = function () {
    var vp = this._vp();
    if (!vp) return;
    vp.invert = !vp.invert;
    this.counts.invert += 1;
    this._set(vp);
  };

  Viewer.prototype.togglePixelReplication = function () {
    var vp = this._vp();
    if (!vp) return;
    this.pixelReplication = !this.pixelReplication;
    vp.pixelReplication = this.pixelReplication;
    this._set(vp);
  };

  Viewer.prototype.cyclePreset = function (direction) {
    if (!this.image || !this.presets.length) return;
    var n = this.presets.length;
    this.presetIndex = (((this.presetIndex + direction) % n) + n) % n;
    var p = this.presets[this.presetIndex];
    this.counts.preset += 1;
    this.setWindow(p.ww, p.wc);
  };

  Viewer.prototype._presetsFor = function (image) {
    var presets = [];
    var voi = cs.metaData.get("voiLutModule", image.imageId) || {};
    var centers = [].concat(voi.windowCenter || []);
    var widths = [].concat(voi.windowWidth || []);
    for (var i = 0; i < Math.min(centers.length, widths.length); i++) {
      if (widths[i] > 0) presets.push({ name: centers.length > 1 ? "File window " + (i + 1) : "File window", ww: widths[i], wc: centers[i] });
    }
    var slope = image.slope || 1, intercept = image.intercept || 0;
    var lo = image.minPixelValue * slope + intercept, hi = image.maxPixelValue * slope + intercept;
    var full = { name: "Full range", ww: Math.max(1, hi - lo), wc: (hi + lo) / 2 };
    if (!presets.length) presets.push({ name: "Auto", ww: image.windowWidth || full.ww, wc: image.windowCenter || full.wc });
    presets.push(full);
    var base = presets[0];
    if (this.modality === "CT") {
      presets = presets.concat(CT_PRESETS);
    } else if (RADIOGRAPHY.indexOf(this.modality) >= 0 || this.modality === "MR" || !this.modality) {
      presets.push({ name: "More contrast", ww: base.ww * 0.6, wc: base.wc });
      presets.push({ name: "Less contrast", ww: base.ww * 1.6, wc: base.wc });
    }
    return presets;
  };

  // --- stacks ------------------------------------------------------------------------------------

  Viewer.prototype.scroll = function (delta) {
    if (this.imageIds.length < 2) return;
    var target = Math.max(0, Math.min(this.imageIds.length - 1, this.index + delta));
    if (target === this.index) return;
    this._count("scroll");
    this.index = target;
    var self = this, token = this._token, id = this.imageIds[target];
    cs.loadAndCacheImage(id).then(function (image) {
      if (token !== self._token || self.imageIds[self.index] !== id) return;
      var vp = cs.getViewport(self.element);
      self.image = image;
      self._fresh = true; // same viewport, new slice: not a zoom/pan/window change
      cs.displayImage(self.element, image, vp);
    });
    this.onChange(this);
  };

  Viewer.prototype._wheel = function (e) {
    e.preventDefault();
    var t = performance.now();
    if (t - this._lastWheel > WHEEL_GESTURE_GAP_MS) this.newGesture();
    this._lastWheel = t;
    if (this.imageIds.length > 1 && !e.ctrlKey && !e.metaKey) {
      this.scroll(e.deltaY > 0 ? 1 : -1);
    } else {
      var factor = Math.pow(1.0015, -Math.max(-300, Math.min(300, e.deltaY)));
      this.zoomBy(factor, e.pageX, e.pageY);
    }
  };

  // --- what is on screen --------------------------------------------------------------------------

  // The final viewport as stored with the rating; `invert` means inverted relative to the
  // standard display (so a MONOCHROME1 image shown as intended reports false).
  Viewer.prototype.state = function () {
    var vp = this._vp();
    if (!vp) return {};
    return {
      window_width: Math.round(vp.voi.windowWidth * 100) / 100,
      window_center: Math.round(vp.voi.windowCenter * 100) / 100,
      zoom: Math.round(vp.scale * 10000) / 10000,
      x: Math.round(vp.translation.x * 100) / 100,
      y: Math.round(vp.translation.y * 100) / 100,
      invert: vp.invert !== !!this.image.invert,
      pixel_replication: !!vp.pixelReplication,
      slice: this.index,
      n_slices: this.imageIds.length,
    };
  };

  Viewer.prototype.presetName = function () {
    var vp = this._vp();
    var p = this.presets[this.presetIndex];
    if (!vp || !p) return "";
    return p.ww === vp.voi.windowWidth && p.wc === vp.voi.windowCenter ? p.name : "Custom";
  };

  window.IQAViewer = { Viewer: Viewer };
})();
