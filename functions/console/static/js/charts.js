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

/** Lines over time: `series` is `[{name, className, points: [[Date, number], ...]}]`. */
export function lineChart(series, { label } = {}) {
  const width = 640;
  const height = 220;
  const pad = { left: 48, right: 12, top: 12, bottom: 28 };
  const all = series.flatMap((line) => line.points);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label ?? "", class: "line-chart" });
  if (all.length === 0) return chart;
  const times = all.map(([time]) => time.getTime());
  const minTime = Math.min(...times);
  const maxTime = Math.max(...times);
  const maxValue = Math.max(1, ...all.map(([, value]) => value)) * 1.1;
  const x = (time) =>
    maxTime === minTime
      ? pad.left + (width - pad.left - pad.right) / 2
      : pad.left + ((time.getTime() - minTime) / (maxTime - minTime)) * (width - pad.left - pad.right);
  const y = (value) => height - pad.bottom - (value / maxValue) * (height - pad.top - pad.bottom);
  for (const fraction of [0, 0.5, 1]) {
    const value = maxValue * fraction;
    chart.append(
      svg("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid" }),
      svg("text", { x: 4, y: y(value) + 4, class: "axis" }, String(Math.round(value))),
    );
  }
  for (const line of series) {
    const points = line.points.map(([time, value]) => `${x(time).toFixed(1)},${y(value).toFixed(1)}`);
    chart.append(svg("polyline", { points: points.join(" "), class: `series ${line.className}` }));
    for (const [time, value] of line.points) {
      chart.append(svg("circle", { cx: x(time), cy: y(value), r: 3, class: `dot ${line.className}` }));
    }
  }
  series.forEach((line, index) => {
    const left = pad.left + index * 80;
    chart.append(
      svg("rect", { x: left, y: height - 14, width: 12, height: 4, class: `legend ${line.className}` }),
      svg("text", { x: left + 16, y: height - 8, class: "axis" }, line.name),
    );
  });
  return chart;
}
