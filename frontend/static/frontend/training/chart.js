// A small line chart in plain SVG: one or more series of (x, y) points on shared axes, with a
// legend, a title and an accessible name. No chart library: the pages need only this.
const NS = "http://www.w3.org/2000/svg";
const W = 360;
const H = 220;
const PAD = { left: 52, right: 12, top: 26, bottom: 36 };

function el(name, attrs = {}, text = null) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text != null) node.textContent = text;
  return node;
}

// Enough decimals that four grid steps of `spacing` read as different numbers.
function tickFormat(spacing) {
  const decimals = Math.min(6, Math.max(0, Math.ceil(-Math.log10(spacing)) + 1));
  return (value) => {
    const abs = Math.abs(value);
    if (abs >= 1e5 || (abs !== 0 && abs < 1e-4)) return value.toExponential(1);
    return value.toFixed(decimals);
  };
}

export function lineChart({ title, xLabel, yLabel, lines, xMax }) {
  const all = lines.flatMap((line) => line.points);
  const xs = all.map(([x]) => x);
  const ys = all.map(([, y]) => y);
  const x0 = Math.min(1, ...xs);
  const x1 = Math.max(xMax || 1, ...xs, x0 + 1);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (y0 === y1) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const margin = (y1 - y0) * 0.08;
  y0 -= margin;
  y1 += margin;
  const sx = (x) => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y) => H - PAD.bottom - ((y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);

  const tick = tickFormat((y1 - y0) / 4);
  const figure = document.createElement("figure");
  figure.className = "curve";
  const summary = lines
    .map((line) => {
      const last = line.points[line.points.length - 1];
      return last ? `${line.label} ${tick(last[1])} at epoch ${last[0]}` : `${line.label}: none`;
    })
    .join("; ");
  const svg = el("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": `${title}: ${summary}`,
    class: "chart",
  });
  // Axes and grid: four horizontal lines with their values, epochs along the bottom.
  for (let i = 0; i <= 4; i += 1) {
    const y = y0 + ((y1 - y0) * i) / 4;
    svg.append(el("line", { x1: PAD.left, x2: W - PAD.right, y1: sy(y), y2: sy(y), class: "grid" }));
    svg.append(el("text", { x: PAD.left - 6, y: sy(y) + 4, class: "tick", "text-anchor": "end" }, tick(y)));
  }
  const step = Math.max(1, Math.ceil((x1 - x0) / 8));
  for (let x = x0; x <= x1; x += step) {
    svg.append(el("text", { x: sx(x), y: H - PAD.bottom + 16, class: "tick", "text-anchor": "middle" }, String(x)));
  }
  svg.append(el("text", { x: (PAD.left + W - PAD.right) / 2, y: H - 4, class: "axis", "text-anchor": "middle" }, xLabel));
  if (yLabel) {
    svg.append(el("text", { x: 6, y: 14, class: "axis", "text-anchor": "start" }, yLabel));
  }
  lines.forEach((line, index) => {
    if (!line.points.length) return;
    const d = line.points.map(([x, y], i) => `${i ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
    svg.append(el("path", { d, class: `line series-${index}`, "data-series": line.label }));
    for (const [x, y] of line.points) {
      svg.append(el("circle", { cx: sx(x), cy: sy(y), r: 2.5, class: `dot series-${index}` }));
    }
  });
  const caption = document.createElement("figcaption");
  const name = document.createElement("strong");
  name.textContent = title;
  caption.append(name);
  lines.forEach((line, index) => {
    const key = document.createElement("span");
    key.className = `key series-${index}`;
    key.textContent = line.label;
    caption.append(" ", key);
  });
  figure.append(svg, caption);
  return figure;
}
