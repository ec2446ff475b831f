// A model's saliency heatmap drawn over the cornerstone image, in the image's own pixel
// coordinates: after every render (pan, zoom, window, resize) cornerstone fires
// IMAGE_RENDERED with the canvas it drew; we set that canvas to the image's coordinate system
// (cornerstone.setToPixelCoordinateSystem, as cornerstone-tools draw their annotations) and draw
// the PNG, whose size is the image's, at (0, 0). So the overlay follows the viewport exactly.
const cs = window.cornerstone;

export class SaliencyOverlay {
  constructor(element) {
    this.element = element;
    this.bitmap = null;
    this.visible = false;
    this.opacity = 0.6;
    this.token = 0;
    element.addEventListener(cs.EVENTS.IMAGE_RENDERED, (event) => this.draw(event.detail));
  }

  // Fetch the PNG at `url`; resolves to {score, method, version} from the response headers.
  async load(url) {
    const token = ++this.token;
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) {
      let detail = `HTTP ${response.status}`;
      try { detail = (await response.json()).detail || detail; } catch (_) { /* not JSON */ }
      throw new Error(detail);
    }
    const bitmap = await createImageBitmap(await response.blob());
    if (token !== this.token) return null; // a newer model was picked meanwhile
    this.bitmap = bitmap;
    this.redraw();
    const score = response.headers.get("X-Model-Score");
    return {
      score: score === null || score === "" ? null : Number(score),
      method: response.headers.get("X-Saliency-Method") || "",
      version: response.headers.get("X-Model-Version") || "",
    };
  }

  setVisible(visible) { this.visible = visible; this.redraw(); }
  setOpacity(opacity) { this.opacity = opacity; this.redraw(); }

  redraw() {
    try { cs.updateImage(this.element); } catch (_) { /* no image displayed yet */ }
  }

  draw(detail) {
    this.element.dataset.saliency = "off";
    if (!this.visible || !this.bitmap || !detail || !detail.image) return;
    const { image, canvasContext: context, enabledElement } = detail;
    // The heatmap is of the representative image (a radiograph, or a stack's middle slice);
    // drawn only where the displayed image has its size.
    if (image.width !== this.bitmap.width || image.height !== this.bitmap.height) return;
    context.save();
    cs.setToPixelCoordinateSystem(enabledElement, context);
    context.globalAlpha = this.opacity;
    context.imageSmoothingEnabled = true;
    context.drawImage(this.bitmap, 0, 0, image.width, image.height);
    context.restore();
    this.element.dataset.saliency = "drawn";
  }
}

// Format a model's score for people: regression scores to 2 decimals, classes as "class k".
export function formatScore(score, target) {
  if (score === null || score === undefined || Number.isNaN(score)) return "–";
  return target === "regression" ? score.toFixed(2) : `class ${Math.round(score)}`;
}
