/**
 * Bench suite `conv`: GFLOP/s of the convolution kernels and matMul at the
 * seed's shapes, on whatever backend `tasks/bench.ts` initialised.
 *
 * Figures are the fastest of up to 10 runs after a warm-up (see {@linkcode timeMs}).
 * Each convolution is timed at the kernel level (`tf.engine().runKernel`):
 * forward (`Conv2D`), input gradient (`Conv2DBackpropInput`, also the forward
 * pass of a transposed convolution) and filter gradient
 * (`Conv2DBackpropFilter`). The matMul rows time the product the convolution
 * amounts to, `[B·Ho·Wo, k²·Ci] × [k²·Ci, Co]`, plain and with the transposes
 * tfjs's MatMul gradient uses. The last rows time `Tile` as tf.batchNorm's
 * gradient uses it.
 *
 * @module
 */

import { tf } from "../../lib/deps.ts";
import { Rng } from "../../lib/random.ts";
import { packageKernel, type WasmBackend } from "../../lib/backend/kernels/wasm_call.ts";
import { benchBackend } from "./runner.ts";
import type { BenchRow, BenchSuite } from "./types.ts";

/** One convolution shape of the seed. */
export interface ConvShape {
  /** Input `[B, H, W, Ci]`. */
  input: [number, number, number, number];
  /** Square kernel size. */
  k: number;
  /** Stride. */
  stride: number;
  /** Symmetric zero padding. */
  pad: number;
  /** Output channels. */
  outChannels: number;
}

/** The seed's convolution shapes (G's merge, first and second layers, the label merge). */
export const CONV_SHAPES: readonly ConvShape[] = [
  { input: [2, 32, 32, 256], k: 3, stride: 1, pad: 1, outChannels: 256 },
  { input: [2, 256, 256, 1], k: 7, stride: 1, pad: 3, outChannels: 32 },
  { input: [2, 128, 128, 32], k: 4, stride: 2, pad: 1, outChannels: 64 },
  { input: [2, 32, 32, 1735], k: 3, stride: 1, pad: 1, outChannels: 256 },
];

/** Options for {@linkcode timeMs}. */
export interface TimeOptions {
  /** Stop repeating once this much time has been spent. @default {1500} */
  budgetMs?: number;
  /** Most repetitions. @default {10} */
  maxReps?: number;
}

/**
 * Fastest wall time in ms of `run` over up to `maxReps` calls after one
 * warm-up call. The fastest (not the median) because the machines are shared:
 * it is the figure least disturbed by other processes. `run` returns the
 * tensors it made; they are read back (so the work is finished) and disposed.
 */
export function timeMs(run: () => tf.Tensor | tf.Tensor[], options: TimeOptions = {}): number {
  const budget = options.budgetMs ?? 1500, maxReps = options.maxReps ?? 10;
  const once = () => {
    const t0 = performance.now();
    const out = run();
    for (const t of Array.isArray(out) ? out : [out]) t.dataSync();
    const ms = performance.now() - t0;
    tf.dispose(out);
    return ms;
  };
  const start = performance.now();
  once();
  const times: number[] = [];
  while (times.length < 2 || (times.length < maxReps && performance.now() - start < budget)) {
    times.push(once());
  }
  return Math.min(...times);
}

/**
 * Peak memory so far in MiB: the wasm heap's size on wasm (it only grows), else the process's
 * resident-set high-water mark (`VmHWM` in `/proc/self/status`), else the current RSS.
 */
export function peakMiB(): number {
  const wasm = (tf.backend() as { wasm?: { HEAPU8?: Uint8Array } }).wasm;
  if (wasm?.HEAPU8) return Math.round(wasm.HEAPU8.byteLength / 2 ** 20);
  try {
    const hwm = /VmHWM:\s*(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
    if (hwm) return Math.round(Number(hwm[1]) / 1024);
  } catch {
    // not Linux, or no read permission: fall back to the current RSS
  }
  return Math.round(Deno.memoryUsage().rss / 2 ** 20);
}

/** Describe a shape like `2x32x32x256 k3 s2 -> 64`. */
function describe(s: ConvShape): string {
  return `${s.input.join("x")} k${s.k}${s.stride > 1 ? ` s${s.stride}` : ""} -> ${s.outChannels}`;
}

/** Measure one convolution shape. */
function measureShape(s: ConvShape, rng: Rng): BenchRow[] {
  const [b, h, w, ci] = s.input;
  const ho = Math.floor((h + 2 * s.pad - s.k) / s.stride) + 1;
  const wo = Math.floor((w + 2 * s.pad - s.k) / s.stride) + 1;
  const flop = 2 * b * ho * wo * s.k * s.k * ci * s.outChannels;
  const backend = tf.getBackend();
  const threads = benchBackend().threads;
  const shape = describe(s);
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [s.pad, s.pad], [s.pad, s.pad], [0, 0]];
  const attrs = {
    strides: [s.stride, s.stride],
    pad,
    dataFormat: "NHWC",
    dimRoundingMode: "floor",
  };
  const x = tf.tensor4d(rng.normalArray(b * h * w * ci), s.input);
  const filter = tf.tensor4d(rng.normalArray(s.k * s.k * ci * s.outChannels, 0.05), [
    s.k,
    s.k,
    ci,
    s.outChannels,
  ]);
  const dy = tf.tensor4d(rng.normalArray(b * ho * wo * s.outChannels), [b, ho, wo, s.outChannels]);
  const rows: BenchRow[] = [];
  const row = (name: string, ms: number, flops: number, note?: string) => {
    const r: BenchRow = {
      name,
      shape,
      backend,
      threads,
      value: Math.round(flops / ms / 1e5) / 10,
      unit: "GFLOP/s",
      peakMiB: peakMiB(),
    };
    if (note !== undefined) r.note = note;
    rows.push(r);
  };
  try {
    const kernel = (name: string, inputs: tf.NamedTensorMap, extra: tf.NamedAttrMap) => () =>
      tf.engine().runKernel(name, inputs, { ...attrs, ...extra }) as tf.Tensor;
    row(
      "conv2d forward",
      timeMs(() => tf.conv2d(x, filter, s.stride, pad)),
      flop,
    );
    row(
      "conv2d input gradient",
      timeMs(kernel("Conv2DBackpropInput", { dy, filter }, { inputShape: s.input })),
      flop,
    );
    row(
      "conv2d filter gradient",
      timeMs(kernel("Conv2DBackpropFilter", { x, dy }, { filterShape: filter.shape })),
      flop,
    );
    if (backend === "wasm" && s === CONV_SHAPES[0]) {
      // The package's own input gradient, which voxlab replaces, for comparison.
      const own = packageKernel("Conv2DBackpropInput");
      const wasm = tf.backend() as unknown as WasmBackend;
      const ms = timeMs(() => {
        const out = own.kernelFunc({
          inputs: { dy, filter },
          backend: wasm,
          attrs: { ...attrs, inputShape: s.input },
        }) as tf.TensorInfo;
        return tf.engine().makeTensorFromTensorInfo(out);
      }, { maxReps: 2 });
      row("conv2d input gradient", ms, flop, "tfjs-backend-wasm's own kernel, replaced by voxlab");
    }
    // The product the convolution amounts to.
    const m = b * ho * wo, kk = s.k * s.k * ci, n = s.outChannels;
    const a = tf.tensor2d(rng.normalArray(m * kk), [m, kk]);
    const bm = tf.tensor2d(rng.normalArray(kk * n, 0.05), [kk, n]);
    const at = tf.transpose(a), bt = tf.transpose(bm);
    try {
      const mm = `matmul [${m}x${kk}]x[${kk}x${n}]`;
      row("matmul", timeMs(() => tf.matMul(a, bm)), 2 * m * kk * n, mm);
      row("matmul transposeA", timeMs(() => tf.matMul(at, bm, true, false)), 2 * m * kk * n, mm);
      row("matmul transposeB", timeMs(() => tf.matMul(a, bt, false, true)), 2 * m * kk * n, mm);
    } finally {
      tf.dispose([a, bm, at, bt]);
    }
  } finally {
    tf.dispose([x, filter, dy]);
  }
  return rows;
}

/**
 * `Tile` as tf.batchNorm's gradient uses it (`[1, 1, 1, C]` by `[B, H, W, 1]`)
 * at G's largest activation, voxlab's kernel and, on wasm, the package's.
 */
function measureTile(rng: Rng): BenchRow[] {
  const backend = tf.getBackend(), threads = benchBackend().threads;
  const shape = "1x1x1x32 -> 2x256x256x32";
  const x = tf.tensor4d(rng.normalArray(32), [1, 1, 1, 32]);
  const reps = [2, 256, 256, 1];
  const row = (ms: number, note?: string): BenchRow => {
    const r: BenchRow = { name: "tile", shape, backend, threads, value: ms, unit: "ms" };
    r.peakMiB = peakMiB();
    if (note !== undefined) r.note = note;
    return r;
  };
  try {
    const rows = [row(timeMs(() => tf.tile(x, reps)), "used by tf.batchNorm's gradient")];
    if (backend === "wasm") {
      const own = packageKernel("Tile");
      const wasm = tf.backend() as unknown as WasmBackend;
      const ms = timeMs(() =>
        tf.engine().makeTensorFromTensorInfo(
          own.kernelFunc({ inputs: { x }, backend: wasm, attrs: { reps } }) as tf.TensorInfo,
        )
      );
      rows.push(row(ms, "tfjs-backend-wasm's own kernel, replaced by voxlab"));
    }
    return rows;
  } finally {
    x.dispose();
  }
}

/** The `conv` bench suite. */
export const suite: BenchSuite = {
  name: "conv",
  perThreadCount: true,
  run() {
    const rng = new Rng("bench-conv");
    const rows: BenchRow[] = [];
    for (const s of CONV_SHAPES) rows.push(...measureShape(s, rng));
    rows.push(...measureTile(rng));
    return Promise.resolve(rows);
  },
};
