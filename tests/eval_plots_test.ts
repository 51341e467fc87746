import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { decodePng } from "../lib/deps.ts";
import { Canvas, COLORS, textWidth, viridis } from "../lib/eval/png.ts";
import {
  formatTick,
  niceTicks,
  plotLinePanels,
  plotLossCurves,
  plotSpectrogramGrid,
} from "../lib/eval/plots.ts";

Deno.test("viridis matches matplotlib's table at five points", () => {
  // matplotlib.cm.viridis at 0, 0.25, 0.5, 0.75, 1 (entries 0, 64, 128, 191, 255 of 256).
  const reference: [number, [number, number, number]][] = [
    [0, [0.267004, 0.004874, 0.329415]],
    [0.25, [0.229739, 0.322361, 0.545706]],
    [0.5, [0.127568, 0.566949, 0.550556]],
    [0.75, [0.369214, 0.788888, 0.382914]],
    [1, [0.993248, 0.906157, 0.143936]],
  ];
  for (const [t, rgb] of reference) {
    const got = viridis(t);
    for (let ch = 0; ch < 3; ch++) {
      ok(Math.abs(got[ch]! / 255 - rgb[ch]!) < 0.02, `viridis(${t})[${ch}] = ${got[ch]! / 255}`);
    }
  }
  deepEqual(viridis(-1), viridis(0));
  deepEqual(viridis(NaN), COLORS.red);
});

Deno.test("Canvas encodes a PNG that decodes to the same pixels", () => {
  const c = new Canvas(7, 5);
  c.fillRect(1, 1, 3, 2, COLORS.blue);
  c.line(0, 4, 6, 4, COLORS.red);
  const png = decodePng(c.toPng());
  equal(png.width, 7);
  equal(png.height, 5);
  equal(png.channels, 3);
  deepEqual([...png.data], [...c.data]);
  deepEqual(c.getPixel(1, 1), COLORS.blue);
  deepEqual(c.getPixel(3, 2), COLORS.blue);
  deepEqual(c.getPixel(4, 2), COLORS.white);
  for (let x = 0; x < 7; x++) deepEqual(c.getPixel(x, 4), COLORS.red);
  throws(() => new Canvas(0, 3), RangeError);
});

Deno.test("text draws glyph pixels inside its box only, and '|' is one column", () => {
  const c = new Canvas(40, 12);
  c.text("|", 10, 2);
  const inked: [number, number][] = [];
  for (let y = 0; y < 12; y++) {
    for (let x = 0; x < 40; x++) if (c.getPixel(x, y)[0] === 0) inked.push([x, y]);
  }
  // glcdfont's '|' is column 2 (x = 12), rows 0–6 (y = 2–8).
  deepEqual(inked, [2, 3, 4, 5, 6, 7, 8].map((y) => [12, y]));
  equal(textWidth("abc"), 17);
  equal(textWidth("abc", 2), 34);
  // Right-aligned text ends at its anchor.
  const r = new Canvas(40, 12);
  r.text("E", 30, 2, { align: "right" });
  let maxX = -1;
  for (let y = 0; y < 12; y++) for (let x = 0; x < 40; x++) if (r.getPixel(x, y)[0] === 0) maxX = x;
  equal(maxX, 29);
});

Deno.test("heatmap puts row 0 at the bottom and maps min/max to the colormap ends", () => {
  const c = new Canvas(2, 2);
  // 2×2 values: row 0 = [0, 0], row 1 = [1, 1].
  c.heatmap([0, 0, 1, 1], [2, 2], [0, 0, 2, 2]);
  deepEqual(c.getPixel(0, 1), viridis(0)); // bottom row = source row 0
  deepEqual(c.getPixel(0, 0), viridis(1));
  const d = new Canvas(2, 2);
  d.heatmap([0, 0, 1, 1], [2, 2], [0, 0, 2, 2], { flipY: false, min: 0, max: 2 });
  deepEqual(d.getPixel(0, 0), viridis(0));
  deepEqual(d.getPixel(0, 1), viridis(0.5));
  throws(() => c.heatmap([0, 1], [2, 2], [0, 0, 2, 2]), RangeError);
});

Deno.test("niceTicks and formatTick", () => {
  deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  deepEqual(niceTicks(3, 97, 4), [25, 50, 75]); // step 23.5 rounds up to 25
  deepEqual(niceTicks(-0.013, 0.012, 5), [-0.01, -0.005, 0, 0.005, 0.01]);
  equal(formatTick(1500), "1500");
  equal(formatTick(0.00012), "1.2e-4");
  equal(formatTick(-2.5), "-2.5");
});

Deno.test("loss curves: one panel per term, curves drawn in each panel", () => {
  const records = Array.from({ length: 50 }, (_, i) => ({
    iteration: i + 1,
    terms: { "D.adversarial": -i, "G.adversarial": i, "G.reconstruction": 1 / (i + 1) },
  }));
  const c = plotLossCurves(records, { columns: 2, panelWidth: 300, panelHeight: 200 });
  equal(c.width, 600);
  equal(c.height, 400); // 3 panels in 2 columns: 2 rows
  // Each of the three panels holds curve pixels (the smoothed curve is COLORS.blue).
  const blueIn = (x0: number, y0: number) => {
    let n = 0;
    for (let y = y0; y < y0 + 200; y++) {
      for (let x = x0; x < x0 + 300; x++) if (c.getPixel(x, y).join() === COLORS.blue.join()) n++;
    }
    return n;
  };
  ok(blueIn(0, 0) > 50 && blueIn(300, 0) > 50 && blueIn(0, 200) > 50);
  equal(blueIn(300, 200), 0); // the empty fourth cell
  throws(() => plotLossCurves([{ iteration: 1, terms: {} }]), RangeError);
});

Deno.test("spectrogram grid shows each panel's pixels with low bins at the bottom", () => {
  // Panel k is constant k/3 except its lowest bin row, which is 1.
  const shape: [number, number] = [8, 8];
  const panels = [0, 1, 2, 3].map((k) => {
    const values = new Float32Array(64).fill(k / 3);
    for (let c = 0; c < 8; c++) values[c] = 1;
    return { title: `panel ${k}`, values, shape };
  });
  const cell = 64;
  const canvas = plotSpectrogramGrid(panels, { columns: 2, cellSize: cell });
  const left = 44, top = 20, cw = left + cell + 14, chh = top + cell + 34;
  for (let k = 0; k < 4; k++) {
    const ox = (k % 2) * cw + left, oy = Math.floor(k / 2) * chh + top;
    deepEqual(canvas.getPixel(ox + cell / 2, oy + 4), viridis(k / 3), `panel ${k} body`);
    deepEqual(canvas.getPixel(ox + cell / 2, oy + cell - 2), viridis(1), `panel ${k} bottom`);
  }
});

Deno.test("line panels: one point is a visible dot; a fixed range, a labelled reference and a second series draw", () => {
  const count = (c: ReturnType<typeof plotLinePanels>, color: readonly number[]) => {
    let n = 0;
    for (let y = 0; y < c.height; y++) {
      for (let x = 0; x < c.width; x++) if (c.getPixel(x, y).join() === color.join()) n++;
    }
    return n;
  };
  const one = plotLinePanels([{ title: "G.total", x: [1], y: [0.5] }]);
  ok(count(one, COLORS.blue) >= 25, `one point drew ${count(one, COLORS.blue)} pixels`);
  const bare = plotLinePanels([{ title: "a", x: [1, 2], y: [0, 0] }]);
  const marked = plotLinePanels([{
    title: "a",
    x: [1, 2],
    y: [0, 0],
    yRange: [0, 1],
    reference: 0.5,
    referenceLabel: "collapse threshold 0.5",
    second: { label: "source", y: [0.8, 0.9] },
    label: "converted",
  }]);
  ok(count(marked, COLORS.red) > count(bare, COLORS.red) + 20, "the reference's label is drawn");
  ok(count(marked, COLORS.gray) > count(bare, COLORS.gray), "the second series is drawn");
});
