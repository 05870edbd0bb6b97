/**
 * Small inline SVG charts for the HTML report: histograms (linear or log time axis, one or two
 * series, vertical markers for inferred timeouts) and a timeline of findings. No scripts, no
 * external resources: the page must render the same from a CI artifact with no network.
 */
import { escapeXml as x } from './xml-escape';

export interface Series {
  name: string;
  colour: string;
  values: readonly number[];
}

export interface Marker {
  value: number;
  label: string;
  colour: string;
}

export interface HistogramOptions {
  series: readonly Series[];
  markers?: readonly Marker[];
  scale: 'linear' | 'log';
  xLabel: string;
  width?: number;
  height?: number;
  /** Text of the SVG's <title> (accessible name). */
  title: string;
}

/** Seconds as a short axis label: "0", "250 ms", "3 s", "2 min". */
export function shortDuration(seconds: number): string {
  if (seconds === 0) return '0';
  const abs = Math.abs(seconds);
  const trim = (v: number): string => String(Number(v.toPrecision(3)));
  if (abs < 1e-3) return `${trim(seconds * 1e6)} µs`;
  if (abs < 1) return `${trim(seconds * 1e3)} ms`;
  if (abs < 120) return `${trim(seconds)} s`;
  if (abs < 7200) return `${trim(seconds / 60)} min`;
  return `${trim(seconds / 3600)} h`;
}

/** Steps that read well on a clock: 1-2-5 below a minute, then minutes and hours. */
const CLOCK_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

/** A round step of time for about `target` ticks over `span` seconds. */
function timeStep(span: number, target: number): number {
  const raw = span / target;
  if (raw <= 30) return niceStep(span, target);
  return CLOCK_STEPS.find((s) => s >= raw) ?? niceStep(span / 86400, target) * 86400;
}

/** A round step for about `target` ticks over `range`. */
function niceStep(range: number, target: number): number {
  const raw = range / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  const nice = residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1;
  return nice * magnitude;
}

const n = (v: number): string => String(Math.round(v * 10) / 10);

interface Axis {
  bins: number[];
  toX: (v: number) => number;
  ticks: Array<{ value: number; label: string }>;
}

function linearAxis(max: number, left: number, right: number): Axis {
  const step = niceStep(max, 6);
  const top = Math.max(step, Math.ceil((max * 1.02) / step) * step);
  const binCount = 60;
  const bins = Array.from({ length: binCount + 1 }, (_, i) => (top * i) / binCount);
  const toX = (v: number): number => left + ((right - left) * Math.min(Math.max(v, 0), top)) / top;
  const ticks = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push({ value: v, label: shortDuration(Number(v.toPrecision(6))) });
  return { bins, toX, ticks };
}

function logAxis(min: number, max: number, left: number, right: number): Axis {
  const lo = Math.floor(Math.log10(Math.max(min, 1e-6)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(max, 1e-6)) + 1e-9));
  const perDecade = 5;
  const bins = Array.from({ length: (hi - lo) * perDecade + 1 }, (_, i) => 10 ** (lo + i / perDecade));
  const toX = (v: number): number => {
    const e = Math.log10(Math.max(v, 10 ** lo));
    return left + ((right - left) * (Math.min(e, hi) - lo)) / (hi - lo);
  };
  const ticks = [];
  for (let e = lo; e <= hi; e++) ticks.push({ value: 10 ** e, label: shortDuration(10 ** e) });
  return { bins, toX, ticks };
}

function binIndex(bins: readonly number[], v: number): number {
  // Values past the last edge go into the last bin; below the first, into the first.
  let lo = 0;
  let hi = bins.length - 2;
  if (v >= bins[hi]) return hi;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (bins[mid] <= v) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** A histogram of durations; several series are drawn side by side in each bin. */
export function histogramSvg(o: HistogramOptions): string {
  const width = o.width ?? 720;
  const height = o.height ?? 240;
  const left = 48;
  const right = width - 16;
  const top = 28;
  const bottom = height - 44;
  const all = o.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v) && v >= 0);
  const markers = (o.markers ?? []).filter((m) => Number.isFinite(m.value) && m.value > 0);
  const extent = [...all, ...markers.map((m) => m.value)];
  const max = extent.length > 0 ? Math.max(...extent) : 1;
  const positive = extent.filter((v) => v > 0);
  const min = positive.length > 0 ? Math.min(...positive) : max / 10;
  const axis = o.scale === 'log' ? logAxis(min, max, left, right) : linearAxis(max || 1, left, right);
  const counts = o.series.map((s) => {
    const c = new Array<number>(axis.bins.length - 1).fill(0);
    for (const v of s.values) if (Number.isFinite(v) && v >= 0) c[binIndex(axis.bins, v)]++;
    return c;
  });
  const peak = Math.max(1, ...counts.flat());
  const yStep = niceStep(peak, 4) >= 1 ? Math.ceil(niceStep(peak, 4)) : 1;
  const yTop = Math.ceil(peak / yStep) * yStep;
  const toY = (c: number): number => bottom - ((bottom - top) * c) / yTop;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`);
  parts.push(`<title>${x(o.title)}</title>`);
  for (let c = 0; c <= yTop; c += yStep) {
    const y = toY(c);
    parts.push(`<line x1="${left}" y1="${n(y)}" x2="${right}" y2="${n(y)}" class="grid"/><text x="${left - 6}" y="${n(y + 4)}" class="tick" text-anchor="end">${c}</text>`);
  }
  // Timeout markers under the bars (a bar at the timeout stays visible), labels on top later.
  const labels: string[] = [];
  const placed: Array<{ x: number; y: number; w: number }> = [];
  for (const m of markers) {
    const mx = axis.toX(m.value);
    parts.push(`<line x1="${n(mx)}" y1="${top - 4}" x2="${n(mx)}" y2="${bottom}" stroke="${m.colour}" stroke-width="2" stroke-dasharray="5 3" stroke-opacity="0.8"/>`);
    const w = m.label.length * 6.8;
    const anchorEnd = mx + 4 + w > right;
    const x0 = anchorEnd ? mx - 4 - w : mx + 4;
    // The first row where this label does not overlap one already placed.
    let y = top + 8;
    while (placed.some((q) => q.y === y && x0 < q.x + q.w + 6 && q.x < x0 + w + 6)) y += 14;
    placed.push({ x: x0, y, w });
    labels.push(`<text x="${n(anchorEnd ? mx - 4 : mx + 4)}" y="${y}" class="marker" fill="${m.colour}" text-anchor="${anchorEnd ? 'end' : 'start'}">${x(m.label)}</text>`);
  }
  const seriesCount = Math.max(1, o.series.length);
  for (let b = 0; b < axis.bins.length - 1; b++) {
    const x0 = axis.toX(axis.bins[b]);
    const x1 = axis.toX(axis.bins[b + 1]);
    const w = Math.max(1, (x1 - x0 - 1) / seriesCount);
    counts.forEach((c, si) => {
      if (c[b] === 0) return;
      const y = toY(c[b]);
      const range = `${shortDuration(axis.bins[b])}–${shortDuration(axis.bins[b + 1])}`;
      parts.push(`<rect x="${n(x0 + 0.5 + si * w)}" y="${n(y)}" width="${n(w)}" height="${n(bottom - y)}" fill="${o.series[si].colour}"><title>${x(`${o.series[si].name}: ${c[b]} in ${range}`)}</title></rect>`);
    });
  }
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" class="axis"/>`);
  for (const t of axis.ticks) {
    const tx = axis.toX(t.value);
    // The last label ends at the axis end rather than running off the picture.
    const anchor = tx > right - 20 ? 'end' : 'middle';
    parts.push(`<line x1="${n(tx)}" y1="${bottom}" x2="${n(tx)}" y2="${bottom + 4}" class="axis"/><text x="${n(tx)}" y="${bottom + 16}" class="tick" text-anchor="${anchor}">${x(t.label)}</text>`);
  }
  parts.push(`<text x="${(left + right) / 2}" y="${height - 8}" class="axis-label" text-anchor="middle">${x(o.xLabel)}</text>`);
  parts.push(...labels);
  // Legend, top left.
  let lx = left;
  for (const s of o.series) {
    parts.push(`<rect x="${lx}" y="6" width="10" height="10" fill="${s.colour}"/><text x="${lx + 14}" y="15" class="legend">${x(`${s.name} (${s.values.length})`)}</text>`);
    lx += 24 + (s.name.length + 6) * 6.6;
  }
  parts.push('</svg>');
  return parts.join('');
}

export interface TimelinePoint {
  ts: number;
  row: string;
  colour: string;
  href: string;
  title: string;
}

/** Above this many findings, rows show how many fell in each slice of time instead of dots. */
const MAX_DOTS = 600;
const DENSITY_BINS = 200;

/**
 * Findings over capture time: one row per kind, one dot per finding linked to its section; with
 * many findings, a bar per slice of time whose height is the count.
 */
export function timelineSvg(points: readonly TimelinePoint[], firstTs: number, lastTs: number, width = 1000): string {
  const rows = [...new Set(points.map((p) => p.row))];
  const labelW = Math.min(240, 12 + Math.max(8, ...rows.map((r) => r.length)) * 7);
  const left = labelW;
  const right = width - 20;
  const rowH = 26;
  const top = 10;
  const bottom = top + rows.length * rowH;
  const height = bottom + 40;
  const span = Math.max(lastTs - firstTs, 1e-6);
  const toX = (ts: number): number => left + ((right - left) * (ts - firstTs)) / span;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">`);
  parts.push('<title>Findings over capture time</title>');
  rows.forEach((r, i) => {
    const y = top + i * rowH + rowH / 2;
    parts.push(`<line x1="${left}" y1="${y}" x2="${right}" y2="${y}" class="grid"/><text x="${left - 8}" y="${y + 4}" class="tick" text-anchor="end">${x(r)}</text>`);
  });
  const step = timeStep(span, 8);
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" class="axis"/>`);
  for (let t = 0; t <= span + step / 1000; t += step) {
    const tx = toX(firstTs + t);
    const anchor = tx > right - 20 ? 'end' : 'middle';
    parts.push(`<line x1="${n(tx)}" y1="${bottom}" x2="${n(tx)}" y2="${bottom + 4}" class="axis"/><text x="${n(tx)}" y="${bottom + 16}" class="tick" text-anchor="${anchor}">+${x(shortDuration(Number(t.toPrecision(6))))}</text>`);
  }
  parts.push(`<text x="${(left + right) / 2}" y="${height - 6}" class="axis-label" text-anchor="middle">time since the first packet of the capture</text>`);
  if (points.length <= MAX_DOTS) {
    for (const p of points) {
      const y = top + rows.indexOf(p.row) * rowH + rowH / 2;
      parts.push(`<a href="${x(p.href)}"><circle cx="${n(toX(p.ts))}" cy="${y}" r="5" fill="${p.colour}" fill-opacity="0.8" stroke="#fff" stroke-width="1"><title>${x(p.title)}</title></circle></a>`);
    }
  } else {
    rows.forEach((r, i) => {
      const counts = new Array<number>(DENSITY_BINS).fill(0);
      let colour = '#1565c0';
      for (const p of points) {
        if (p.row !== r) continue;
        counts[Math.min(DENSITY_BINS - 1, Math.floor(((p.ts - firstTs) / span) * DENSITY_BINS))]++;
        colour = p.colour;
      }
      const peak = Math.max(1, ...counts);
      const base = top + (i + 1) * rowH - 4;
      const binW = (right - left) / DENSITY_BINS;
      counts.forEach((c, b) => {
        if (c === 0) return;
        const h = Math.max(2, ((rowH - 8) * c) / peak);
        const from = shortDuration(Number(((b * span) / DENSITY_BINS).toPrecision(3)));
        parts.push(`<rect x="${n(left + b * binW)}" y="${n(base - h)}" width="${n(Math.max(1, binW - 0.5))}" height="${n(h)}" fill="${colour}" fill-opacity="0.85"><title>${x(`${r}: ${c} from +${from}`)}</title></rect>`);
      });
    });
  }
  parts.push('</svg>');
  return parts.join('');
}
