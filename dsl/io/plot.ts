/**
 * Loss curves as a PNG line plot, with no plotting library: a float RGB canvas drawn at 2x
 * and box-averaged down (antialiasing), text in a built-in 5x7 bitmap font (printable
 * ASCII; other characters show as a box). Written atomically with pngjs.
 */
import { ADVANCE, GLYPH_H, GLYPH_W, glyphRows, textWidth } from './font.ts';
import { writePng } from './image.ts';

/** Options of {@link writeLossPlot}. */
export interface LossPlotOptions {
  /** Image size in pixels; default 960 x 540. */
  width?: number;
  height?: number;
  /** Title above the plot. */
  title?: string;
  /** Label under the x axis; default 'iteration'. */
  xLabel?: string;
  /** x of point i is `xStart + i * xStep`; defaults 0 and 1 (e.g. xStep = log interval). */
  xStart?: number;
  xStep?: number;
  /** x of point i, when points are not evenly spaced (e.g. evaluations at 0, 150, ..., and the last iteration); overrides xStart/xStep. */
  x?: readonly number[];
  /**
   * EMA smoothing factor in [0, 1): the curve drawn is `s = a*s + (1-a)*v`, with the raw
   * values underneath in a light tint. Default: `min(0.98, 1 - 20/n)` when the longest series
   * has n >= 100 points (a window of ~n/20 points), else 0 (raw values only).
   */
  smooth?: number;
  /** Log-scale y axis (non-positive values are skipped). Default false. */
  logY?: boolean;
  /**
   * Fit the y range to the 1%..99% quantiles of the raw values (and the whole smoothed
   * curves), so a few early spikes do not flatten everything. Default true.
   */
  robust?: boolean;
}

// ---------------------------------------------------------------------------------------
// Canvas

type Rgb = readonly [number, number, number];

class Canvas {
  readonly data: Float32Array;
  constructor(readonly width: number, readonly height: number) {
    this.data = new Float32Array(width * height * 3).fill(1);
  }

  /** Blends colour c with opacity a into pixel (x, y) if inside the clip rectangle. */
  blend(x: number, y: number, c: Rgb, a = 1, clip?: Rect): void {
    x = Math.floor(x);
    y = Math.floor(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    if (clip && (x < clip.x0 || x >= clip.x1 || y < clip.y0 || y >= clip.y1)) return;
    const o = (y * this.width + x) * 3;
    for (let k = 0; k < 3; k++) this.data[o + k] += (c[k] - this.data[o + k]) * a;
  }

  fillRect(x0: number, y0: number, x1: number, y1: number, c: Rgb, a = 1, clip?: Rect): void {
    for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
      for (let x = Math.floor(x0); x < Math.ceil(x1); x++) this.blend(x, y, c, a, clip);
    }
  }

  /** A line of width lw (pixels), drawn as discs stamped every half pixel. */
  line(xa: number, ya: number, xb: number, yb: number, lw: number, c: Rgb, clip?: Rect): void {
    const r = lw / 2;
    const len = Math.hypot(xb - xa, yb - ya);
    const steps = Math.max(1, Math.ceil(len * 2));
    const ri = Math.ceil(r);
    for (let s = 0; s <= steps; s++) {
      const x = xa + ((xb - xa) * s) / steps;
      const y = ya + ((yb - ya) * s) / steps;
      for (let dy = -ri; dy <= ri; dy++) {
        for (let dx = -ri; dx <= ri; dx++) {
          const px = Math.floor(x) + dx;
          const py = Math.floor(y) + dy;
          if (Math.hypot(px + 0.5 - x, py + 0.5 - y) <= r) this.blend(px, py, c, 1, clip);
        }
      }
    }
  }

  /** Text with its top-left corner at (x, y), each font pixel `scale` canvas pixels. */
  text(s: string, x: number, y: number, scale: number, c: Rgb): void {
    let cx = Math.round(x);
    for (const ch of s) {
      const rows = glyphRows(ch);
      for (let gy = 0; gy < GLYPH_H; gy++) {
        for (let gx = 0; gx < GLYPH_W; gx++) {
          if (rows[gy][gx] === '#') this.fillRect(cx + gx * scale, y + gy * scale, cx + (gx + 1) * scale, y + (gy + 1) * scale, c);
        }
      }
      cx += ADVANCE * scale;
    }
  }

  /** Box-averages f x f blocks into RGB8. */
  downsample(f: number): { width: number; height: number; rgb: Uint8Array } {
    const w = Math.floor(this.width / f);
    const h = Math.floor(this.height / f);
    const rgb = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let k = 0; k < 3; k++) {
          let s = 0;
          for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += this.data[((y * f + dy) * this.width + x * f + dx) * 3 + k];
          rgb[(y * w + x) * 3 + k] = Math.max(0, Math.min(255, Math.round((s / (f * f)) * 255)));
        }
      }
    }
    return { width: w, height: h, rgb };
  }
}

interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}


// ---------------------------------------------------------------------------------------
// Axes

/** A "nice" tick step (1, 2 or 5 times a power of ten) for about `n` intervals over span. */
function niceStep(span: number, n: number): number {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const m = raw / p;
  return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

function ticks(lo: number, hi: number, n: number, decades = false): { values: number[]; step: number } {
  let step = niceStep(hi - lo, n);
  if (decades && step >= 0.5) step = Math.ceil(step); // log axis: whole powers of ten
  const values: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) values.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return { values, step };
}

function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) return v.toExponential(Math.max(0, Math.min(3, -Math.floor(Math.log10(step / a)))));
  if (Number.isInteger(v) && a >= 10000 && v % 1000 === 0) return `${v / 1000}k`;
  const decimals = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(decimals);
}

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(3)).toString();
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo);
}

const PALETTE: readonly Rgb[] = [
  '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
  '#bcbd22', '#17becf', '#393b79', '#e6550d', '#31a354', '#843c39', '#7b4173', '#636363',
].map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16) / 255) as unknown as Rgb);

const BLACK: Rgb = [0, 0, 0];
const GRID: Rgb = [0.9, 0.9, 0.9];
const TEXT: Rgb = [0.15, 0.15, 0.15];

/**
 * Writes a PNG line plot of loss curves: one colour per series, axes with ticks, a light
 * grid, and a legend right of the plot with each series' name and last (smoothed) value.
 * Non-finite values leave gaps. Series may differ in length. Written atomically.
 */
export function writeLossPlot(file: string, series: Record<string, number[]>, opts: LossPlotOptions = {}): void {
  const img = renderLossPlot(series, opts);
  writePng(file, img.width, img.height, img.rgb);
}

/** Several plots of {@link writeLossPlot}, one above the other (same width), as one PNG. */
export function writeStackedPlots(file: string, panels: readonly { series: Record<string, number[]>; opts?: LossPlotOptions }[]): void {
  const imgs = panels.map((p) => renderLossPlot(p.series, p.opts));
  const width = imgs[0]?.width ?? 0;
  if (imgs.some((im) => im.width !== width)) throw new Error(`writeStackedPlots: panels differ in width (${imgs.map((im) => im.width).join(', ')})`);
  const rgb = new Uint8Array(imgs.reduce((n, im) => n + im.rgb.length, 0));
  imgs.reduce((off, im) => (rgb.set(im.rgb, off), off + im.rgb.length), 0);
  writePng(file, width, imgs.reduce((h, im) => h + im.height, 0), rgb);
}

/** The plot of {@link writeLossPlot} as RGB8 (HWC) pixels. */
export function renderLossPlot(
  series: Record<string, number[]>, opts: LossPlotOptions = {},
): { width: number; height: number; rgb: Uint8Array } {
  const W = opts.width ?? 960;
  const H = opts.height ?? 540;
  if (!(Number.isInteger(W) && Number.isInteger(H) && W >= 200 && H >= 120)) {
    throw new Error(`writeLossPlot: size must be integers at least 200x120, got ${W}x${H}`);
  }
  const xStart = opts.xStart ?? 0;
  const xStep = opts.xStep ?? 1;
  const xAt = (i: number) => (opts.x ? opts.x[i] : xStart + i * xStep);
  const logY = opts.logY ?? false;
  const robust = opts.robust ?? true;
  const SS = 2; // supersampling
  const FS = 2 * SS; // font pixel = 2 output pixels
  const names = Object.keys(series);
  const maxLen = Math.max(0, ...names.map((n) => series[n].length));
  const alpha = opts.smooth ?? (maxLen >= 100 ? Math.min(0.98, 1 - 20 / maxLen) : 0);
  if (!(alpha >= 0 && alpha < 1)) throw new Error(`writeLossPlot: smooth must be in [0, 1), got ${alpha}`);

  // Values in plot space (log10 if logY), NaN where not drawable.
  const tf = (v: number) => (logY ? (v > 0 ? Math.log10(v) : NaN) : v);
  const raw = names.map((n) => series[n].map((v) => (Number.isFinite(v) ? tf(v) : NaN)));
  const smoothed = raw.map((vs) => {
    if (alpha === 0) return vs;
    let s = NaN;
    let wsum = 0;
    return vs.map((v) => {
      if (Number.isNaN(v)) return NaN;
      s = Number.isNaN(s) ? 0 : s;
      s = alpha * s + (1 - alpha) * v;
      wsum = alpha * wsum + (1 - alpha);
      return s / wsum; // bias-corrected EMA, as TensorBoard
    });
  });

  // y range.
  let lo = Infinity;
  let hi = -Infinity;
  raw.forEach((vs, i) => {
    for (const curve of alpha > 0 ? [vs, smoothed[i]] : [vs]) {
      const fin = curve.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
      if (fin.length === 0) continue;
      const q = robust && fin.length >= 20 ? 0.01 : 0;
      lo = Math.min(lo, quantile(fin, q));
      hi = Math.max(hi, quantile(fin, 1 - q));
    }
  });
  if (!Number.isFinite(lo)) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) {
    const d = Math.max(Math.abs(hi) * 0.05, 1e-3);
    lo -= d;
    hi += d;
  }
  const padY = (hi - lo) * 0.05;
  lo -= padY;
  hi += padY;
  const xLo = xAt(0) ?? xStart;
  const xHi = maxLen > 1 ? Math.max(xAt(maxLen - 1), xLo + 1e-9) : xLo + xStep;

  const yt = ticks(lo, hi, 6, logY);
  const yLabels = yt.values.map((v) => (logY ? formatValue(Number((10 ** v).toPrecision(2))) : formatTick(v, yt.step)));
  const xt = ticks(xLo, xHi, 8);
  const xLabels = xt.values.map((v) => formatTick(v, xt.step));

  // Layout, in canvas pixels (SS x output pixels).
  const fontH = GLYPH_H * FS;
  const last = (vs: number[]) => {
    for (let i = vs.length - 1; i >= 0; i--) if (!Number.isNaN(vs[i])) return logY ? 10 ** vs[i] : vs[i];
    return NaN;
  };
  const legendText = names.map((n, i) => `${n}  ${formatValue(last(smoothed[i]))}`);
  const swatch = 16 * SS;
  const legendW = Math.min(Math.max(0, ...legendText.map((t) => textWidth(t, FS))) + swatch + 14 * SS, (W * SS) / 2);
  const left = Math.max(...yLabels.map((t) => textWidth(t, FS)), 0) + 14 * SS;
  const top = (opts.title ? 12 + 7 * 2 + 10 : 14) * SS;
  const bottom = (12 + 7 * 2 + 12 + 7 * 2 + 10) * SS;
  const right = legendW + 16 * SS;
  const cw = W * SS;
  const ch = H * SS;
  const plot: Rect = { x0: left, y0: top, x1: cw - right, y1: ch - bottom };
  if (plot.x1 - plot.x0 < 40 * SS || plot.y1 - plot.y0 < 40 * SS) {
    throw new Error(`writeLossPlot: ${W}x${H} is too small for ${names.length} series and their legend`);
  }
  const X = (x: number) => plot.x0 + ((x - xLo) / (xHi - xLo)) * (plot.x1 - plot.x0);
  const Y = (y: number) => plot.y1 - ((y - lo) / (hi - lo)) * (plot.y1 - plot.y0);
  const cv = new Canvas(cw, ch);

  // Grid, ticks and labels.
  yt.values.forEach((v, i) => {
    const y = Math.round(Y(v));
    cv.fillRect(plot.x0, y, plot.x1, y + SS, GRID);
    cv.fillRect(plot.x0 - 5 * SS, y, plot.x0, y + SS, BLACK);
    cv.text(yLabels[i], plot.x0 - 8 * SS - textWidth(yLabels[i], FS), y - fontH / 2, FS, TEXT);
  });
  let lastRight = -Infinity;
  xt.values.forEach((v, i) => {
    const x = Math.round(X(v));
    cv.fillRect(x, plot.y0, x + SS, plot.y1, GRID);
    cv.fillRect(x, plot.y1, x + SS, plot.y1 + 5 * SS, BLACK);
    const w = textWidth(xLabels[i], FS);
    const tx = Math.min(Math.max(x - w / 2, 0), cw - w);
    if (tx > lastRight + 6 * SS) {
      cv.text(xLabels[i], tx, plot.y1 + 9 * SS, FS, TEXT);
      lastRight = tx + w;
    }
  });
  // Axes (left and bottom) and frame.
  cv.fillRect(plot.x0 - SS, plot.y0, plot.x0, plot.y1 + SS, BLACK);
  cv.fillRect(plot.x0 - SS, plot.y1, plot.x1, plot.y1 + SS, BLACK);
  const xl = opts.xLabel ?? 'iteration';
  cv.text(xl, (plot.x0 + plot.x1) / 2 - textWidth(xl, FS) / 2, plot.y1 + (9 + 14 + 10) * SS, FS, TEXT);
  if (opts.title) {
    let t = opts.title;
    while (t.length > 1 && textWidth(t, FS) > cw - 8 * SS) t = t.slice(0, -1);
    cv.text(t, Math.max(4 * SS, cw / 2 - textWidth(t, FS) / 2), 12 * SS, FS, BLACK);
  }
  if (logY) cv.text('log', plot.x0 - 8 * SS - textWidth('log', FS), plot.y0 - 14 * SS - fontH / 2, FS, TEXT);

  // Curves: raw in a light tint under the smoothed curve; min/max bands when points outnumber pixels.
  const drawSeries = (vs: number[], c: Rgb, lw: number) => {
    const px = plot.x1 - plot.x0;
    if (vs.length > px / SS) {
      // One vertical band per output column: min..max of the points falling in it.
      const cols = Math.ceil(px / SS);
      const mn = new Float64Array(cols).fill(Infinity);
      const mx = new Float64Array(cols).fill(-Infinity);
      vs.forEach((v, i) => {
        if (Number.isNaN(v)) return;
        const col = Math.min(cols - 1, Math.floor((X(xAt(i)) - plot.x0) / SS));
        mn[col] = Math.min(mn[col], v);
        mx[col] = Math.max(mx[col], v);
      });
      let prev: [number, number] | undefined;
      for (let col = 0; col < cols; col++) {
        if (mn[col] === Infinity) {
          prev = undefined;
          continue;
        }
        const x = plot.x0 + (col + 0.5) * SS;
        let y0 = Y(mx[col]);
        let y1 = Y(mn[col]);
        if (prev) {
          y0 = Math.min(y0, prev[1]);
          y1 = Math.max(y1, prev[0]);
        }
        cv.fillRect(x - lw / 2, y0 - lw / 2, x + lw / 2, y1 + lw / 2, c, 1, plot);
        prev = [Y(mx[col]), Y(mn[col])];
      }
      return;
    }
    for (let i = 1; i < vs.length; i++) {
      if (Number.isNaN(vs[i - 1]) || Number.isNaN(vs[i])) continue;
      cv.line(X(xAt(i - 1)), Y(vs[i - 1]), X(xAt(i)), Y(vs[i]), lw, c, plot);
    }
    if (vs.length === 1 && !Number.isNaN(vs[0])) cv.fillRect(X(xAt(0)) - 2 * SS, Y(vs[0]) - 2 * SS, X(xAt(0)) + 2 * SS, Y(vs[0]) + 2 * SS, c, 1, plot);
  };
  const tint = (c: Rgb, t: number): Rgb => [c[0] + (1 - c[0]) * t, c[1] + (1 - c[1]) * t, c[2] + (1 - c[2]) * t];
  if (alpha > 0) raw.forEach((vs, i) => drawSeries(vs, tint(PALETTE[i % PALETTE.length], 0.7), 1 * SS));
  smoothed.forEach((vs, i) => drawSeries(vs, PALETTE[i % PALETTE.length], 2 * SS));

  // Legend, right of the plot.
  const lx = plot.x1 + 16 * SS;
  legendText.forEach((t, i) => {
    const y = plot.y0 + i * (fontH + 8 * SS);
    if (y + fontH > ch) return;
    const c = PALETTE[i % PALETTE.length];
    cv.fillRect(lx, y + fontH / 2 - 1.5 * SS, lx + swatch, y + fontH / 2 + 1.5 * SS, c);
    let s = t;
    while (s.length > 1 && textWidth(s, FS) > legendW - swatch - 8 * SS) s = s.slice(0, -1);
    cv.text(s, lx + swatch + 8 * SS, y, FS, TEXT);
  });
  return cv.downsample(SS);
}
