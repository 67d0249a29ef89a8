/**
 * Laws of the loss plot (dsl/io/plot.ts), read back from its pixels: a falling loss is drawn
 * falling (its curve goes down from left to right inside the axes), and the y tick labels
 * grow upwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderLossPlot } from '../dsl/io/plot.ts';

type Img = { width: number; height: number; rgb: Uint8Array };

const px = (img: Img, x: number, y: number) => img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3);
const isBlack = (img: Img, x: number, y: number) => px(img, x, y).every((v) => v < 20);
/** The first series' colour (#1f77b4), allowing for antialiased edges. */
const isBlue = (img: Img, x: number, y: number) => {
  const [r, g, b] = px(img, x, y);
  return Math.abs(r - 0x1f) < 40 && Math.abs(g - 0x77) < 40 && Math.abs(b - 0xb4) < 40;
};

/** The axes, from the pixels: the x axis is the row with the longest black run, the y axis the column. */
function axes(img: Img): { x0: number; x1: number; axisRow: number; axisCol: number } {
  let best = { len: 0, row: -1, start: 0 };
  for (let y = 0; y < img.height; y++) {
    let run = 0;
    for (let x = 0; x < img.width; x++) {
      run = isBlack(img, x, y) ? run + 1 : 0;
      if (run > best.len) best = { len: run, row: y, start: x - run + 1 };
    }
  }
  let col = { n: 0, x: -1 };
  for (let x = 0; x < img.width; x++) {
    let n = 0;
    for (let y = 0; y < img.height; y++) n += isBlack(img, x, y) ? 1 : 0;
    if (n > col.n) col = { n, x };
  }
  return { x0: best.start, x1: best.start + best.len, axisRow: best.row, axisCol: col.x };
}

// A falling loss, 100 -> 0 over 60 points (no smoothing below 100 points): y ticks 0, 20, ..., 100.
const falling = Array.from({ length: 60 }, (_, i) => 100 - (100 * i) / 59);
const img = renderLossPlot({ loss: falling }, { width: 480, height: 320 });

test('a falling loss is drawn falling: the curve\'s mean row goes down from left to right', () => {
  const { x0, x1, axisRow, axisCol } = axes(img);
  assert.ok(axisCol >= x0 - 1 && axisCol <= x0 + 1 && axisRow > img.height / 2, `axes found: x ${x0}..${x1}, x axis row ${axisRow}, y axis column ${axisCol}`);
  // Mean row of the curve's pixels in six bands of columns inside the axes (the legend swatch, right of them, is excluded).
  const bands = 6;
  const means: number[] = [];
  for (let k = 0; k < bands; k++) {
    let sum = 0;
    let n = 0;
    for (let x = x0 + 2 + Math.floor(((x1 - x0 - 4) * k) / bands); x < x0 + 2 + Math.floor(((x1 - x0 - 4) * (k + 1)) / bands); x++) {
      for (let y = 0; y < axisRow; y++) if (isBlue(img, x, y)) { sum += y; n++; }
    }
    assert.ok(n > 20, `band ${k} of the plot has ${n} curve pixels`);
    means.push(sum / n);
  }
  const rows = means.map((m) => m.toFixed(1)).join(', ');
  for (let k = 1; k < bands; k++) assert.ok(means[k] > means[k - 1] + 5, `curve rows left to right should increase (image y points down): ${rows}`);
  // The line spans the plot's height: first band near the top, last near the x axis.
  assert.ok(means[0] < axisRow / 2 && means[bands - 1] > axisRow * 0.75, `curve rows ${rows}, x axis at row ${axisRow}`);
});

test('y tick labels grow upwards: 100 at the top tick, 0 at the bottom one', () => {
  const { axisCol, axisRow } = axes(img);
  // Tick marks: 4 dark pixels left of the y axis (one row, or two at half tone when the tick
  // falls between output rows; then the centre of the two).
  const dark = (x: number, y: number) => px(img, x, y).every((v) => v < 160);
  const tickRows: number[] = [];
  for (let y = 0; y <= axisRow; y++) {
    if (![1, 2, 3, 4].every((d) => dark(axisCol - d, y)) || dark(axisCol - 6, y)) continue;
    if (tickRows.length && y - tickRows[tickRows.length - 1] <= 1) tickRows[tickRows.length - 1] += 0.5;
    else tickRows.push(y);
  }
  assert.equal(tickRows.length, 6, `tick rows ${tickRows}`);
  // Each label's width in characters (12 output pixels a character), from its ink left of the tick.
  const chars = tickRows.map((t) => {
    let left = Infinity;
    let right = -Infinity;
    for (let y = Math.max(0, Math.floor(t) - 7); y <= t + 7; y++) {
      for (let x = 0; x < axisCol - 6; x++) {
        if (px(img, x, y)[0] < 128) {
          left = Math.min(left, x);
          right = Math.max(right, x);
        }
      }
    }
    return Math.round((right - left + 1 + 2) / 12);
  });
  assert.deepEqual(chars, [3, 2, 2, 2, 2, 1], `label lengths top to bottom (100, 80, ..., 20, 0), at rows ${tickRows}`);
});
