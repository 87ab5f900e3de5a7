// Charts drawn as SVG elements (no library, no inline style): sizes are SVG attributes and
// colours come from CSS classes.

import { svg } from "./dom.js";

/** Horizontal bars, one per `[label, value]` with values in 0..1. */
export function barChart(entries, { label, highlight } = {}) {
  const rowHeight = 28;
  const labelWidth = 90;
  const barWidth = 220;
  const width = labelWidth + barWidth + 60;
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${entries.length * rowHeight}`,
    role: "img",
    "aria-label": label ?? "",
    class: "bar-chart",
  });
  entries.forEach(([name, value], index) => {
    const y = index * rowHeight;
    const clamped = Math.max(0, Math.min(1, Number(value) || 0));
    chart.append(
      svg("text", { x: 0, y: y + 18, class: "bar-label" }, name),
      svg("rect", { x: labelWidth, y: y + 6, width: barWidth, height: 16, class: "bar-track", rx: 3 }),
      svg("rect", {
        x: labelWidth,
        y: y + 6,
        width: Math.max(1, clamped * barWidth),
        height: 16,
        rx: 3,
        class: name === highlight ? "bar bar-chosen" : "bar",
        "data-score": name,
      }),
      svg("text", { x: labelWidth + barWidth + 8, y: y + 18, class: "bar-value" }, `${Math.round(clamped * 100)}%`),
    );
  });
  return chart;
}

function marker(shape, cx, cy, className) {
  if (shape === "square") return svg("rect", { x: cx - 3.5, y: cy - 3.5, width: 7, height: 7, class: className });
  if (shape === "diamond") {
    return svg("polygon", { points: `${cx},${cy - 5} ${cx + 5},${cy} ${cx},${cy + 5} ${cx - 5},${cy}`, class: className });
  }
  return svg("circle", { cx, cy, r: 3.5, class: className });
}

/** Lines over time, with a time axis below and a legend above.
 *
 * `series` is `[{name, className, shape, points: [[Date, number], ...]}]`, listed as the
 * legend shows them; they are drawn last to first, so the first stays on top where lines
 * meet (p50 over p95 over p99: a p95 equal to the p99 is still seen). `formatTick(date,
 * withDate)` labels the time axis, under `axisTitle`; `unit` names the values. */
export function lineChart(series, { label, formatTick = (date) => date.toISOString(), axisTitle = "", unit = "" } = {}) {
  const width = 640;
  const height = 260;
  const pad = { left: 52, right: 16, top: 30, bottom: 52 };
  const all = series.flatMap((line) => line.points);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label ?? "", class: "line-chart" });
  if (all.length === 0) return chart;
  const times = all.map(([time]) => time.getTime());
  const minTime = Math.min(...times);
  const maxTime = Math.max(...times);
  const maxValue = Math.max(1, ...all.map(([, value]) => value)) * 1.1;
  const plotWidth = width - pad.left - pad.right;
  const bottom = height - pad.bottom;
  const x = (time) =>
    maxTime === minTime ? pad.left + plotWidth / 2 : pad.left + ((time - minTime) / (maxTime - minTime)) * plotWidth;
  const y = (value) => bottom - (value / maxValue) * (bottom - pad.top);

  for (const fraction of [0, 0.5, 1]) {
    const value = maxValue * fraction;
    chart.append(
      svg("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid" }),
      svg("text", { x: pad.left - 6, y: y(value) + 4, class: "axis", "text-anchor": "end" }, String(Math.round(value))),
    );
  }
  if (unit) chart.append(svg("text", { x: pad.left - 6, y: pad.top - 12, class: "axis", "text-anchor": "end" }, unit));

  // The time axis: up to four evenly spaced ticks (one when every point has the same time).
  const withDate = new Date(minTime).toDateString() !== new Date(maxTime).toDateString();
  const count = maxTime === minTime ? 1 : Math.min(4, new Set(times).size);
  const axis = svg("g", { class: "x-axis" }, svg("line", { x1: pad.left, x2: width - pad.right, y1: bottom, y2: bottom, class: "axis-line" }));
  for (let index = 0; index < count; index += 1) {
    const time = count === 1 ? minTime : minTime + ((maxTime - minTime) * index) / (count - 1);
    const anchor = count === 1 ? "middle" : index === 0 ? "start" : index === count - 1 ? "end" : "middle";
    axis.append(
      svg("line", { x1: x(time), x2: x(time), y1: bottom, y2: bottom + 5, class: "axis-line" }),
      svg("text", { x: x(time), y: bottom + 18, class: "axis tick-label", "text-anchor": anchor }, formatTick(new Date(time), withDate)),
    );
  }
  if (axisTitle) {
    axis.append(svg("text", { x: pad.left + plotWidth / 2, y: height - 8, class: "axis x-axis-title", "text-anchor": "middle" }, axisTitle));
  }
  chart.append(axis);

  for (const line of [...series].reverse()) {
    const points = line.points.map(([time, value]) => `${x(time.getTime()).toFixed(1)},${y(value).toFixed(1)}`);
    chart.append(svg("polyline", { points: points.join(" "), class: `series ${line.className}` }));
    for (const [time, value] of line.points) {
      chart.append(marker(line.shape, x(time.getTime()), y(value), `dot ${line.className}`));
    }
  }

  series.forEach((line, index) => {
    const left = pad.left + index * 90;
    chart.append(
      svg("line", { x1: left, x2: left + 24, y1: 12, y2: 12, class: `legend-line ${line.className}` }),
      marker(line.shape, left + 12, 12, `dot ${line.className}`),
      svg("text", { x: left + 30, y: 16, class: "axis" }, line.name),
    );
  });
  return chart;
}
