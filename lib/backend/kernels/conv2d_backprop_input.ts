/**
 * `Conv2DBackpropInput` for the wasm backend, replacing the package's slow one.
 *
 * The input gradient of a stride-`s` convolution splits into `s_h · s_w`
 * sub-pixel phases. Input row `h = s·q + r` only receives the filter taps
 * `i ≡ r + p (mod s)`, so each phase is a stride-1 convolution of `dy` with
 * the 180°-rotated sub-filter (those taps, input and output channels
 * swapped); the phases are then interleaved. Each phase convolution runs on
 * the wasm backend's fast Conv2D (XNNPACK). With one or two input channels
 * (too few output channels for XNNPACK) it is a matrix product plus a
 * scatter-add instead. This kernel is also the forward pass of
 * `tf.conv2dTranspose`.
 *
 * @module
 */

import type { tf } from "../../deps.ts";
import { type Conv2DGradAttrs, conv2dGradInfo } from "./conv2d_info.ts";
import { free, input, runWasm, view, type WasmBackend } from "./wasm_call.ts";

/** Attributes of tfjs's `Conv2DBackpropInput` kernel. */
interface Attrs extends Conv2DGradAttrs {
  inputShape: [number, number, number, number];
}

/** How one phase of one spatial axis is computed. */
interface AxisPhase {
  /** First filter tap of the phase: taps are `first + stride·m`, `m < taps`. */
  first: number;
  /** Number of taps. */
  taps: number;
  /** Zero padding before `dy` (negative: leading `dy` rows are skipped). */
  before: number;
  /** Zero padding after `dy` (negative: trailing `dy` rows are skipped). */
  after: number;
}

/**
 * Phase `r` of one axis: input index `s·q + r` for `q < outLen` (`outLen` is
 * the same for all phases; the caller crops the surplus).
 */
function axisPhase(
  r: number,
  k: number,
  s: number,
  pad: number,
  dyLen: number,
  outLen: number,
): AxisPhase {
  const first = (r + pad) % s;
  const taps = first < k ? Math.ceil((k - first) / s) : 0;
  // dx[s·q + r] = Σ_m dy[q + e − m] · w[first + s·m], with e = ⌊(r + pad) / s⌋:
  // a correlation of dy with the reversed sub-filter, offset by taps − 1 − e.
  const before = taps - 1 - Math.floor((r + pad) / s);
  const after = outLen - dyLen - before + taps - 1;
  return { first, taps, before, after };
}

/**
 * The sub-filter `[th, tw, Co, Ci]` of one phase, rotated by 180°, from the
 * channel-swapped filter `wt` (`[kh, kw, Co, Ci]`): block (t, u) is
 * `wt[fh + sh·(th − 1 − t), fw + sw·(tw − 1 − u)]`.
 */
function subFilter(
  backend: WasmBackend,
  wt: tf.TensorInfo,
  ph: AxisPhase,
  pw: AxisPhase,
  sh: number,
  sw: number,
): tf.TensorInfo {
  const [, kw, co, ci] = wt.shape as [number, number, number, number];
  const block = co * ci;
  const out = backend.makeOutput([ph.taps, pw.taps, co, ci], "float32");
  // Views are taken after the allocation: allocating may grow (and detach) the heap.
  const src = backend.typedArrayFromHeap(wt);
  const dst = backend.typedArrayFromHeap(out);
  for (let t = 0; t < ph.taps; t++) {
    const a = ph.first + sh * (ph.taps - 1 - t);
    for (let u = 0; u < pw.taps; u++) {
      const b = pw.first + sw * (pw.taps - 1 - u);
      const from = (a * kw + b) * block;
      dst.set(src.subarray(from, from + block), (t * pw.taps + u) * block);
    }
  }
  return out;
}

/** One phase: a stride-1 convolution of `dy`, giving `[B, hq, wq, Ci]`. */
function phaseConv(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  wt: tf.TensorInfo,
  ph: AxisPhase,
  pw: AxisPhase,
  strides: [number, number],
  outShape: [number, number, number, number],
): tf.TensorInfo {
  if (ph.taps === 0 || pw.taps === 0) {
    return runWasm(backend, "Fill", {}, { shape: outShape, value: 0, dtype: "float32" });
  }
  const temps: tf.TensorInfo[] = [];
  try {
    const filter = subFilter(backend, wt, ph, pw, strides[0], strides[1]);
    temps.push(filter);
    let src = dy;
    const [batch, dh, dw, co] = dy.shape as [number, number, number, number];
    if (ph.before < 0 || ph.after < 0 || pw.before < 0 || pw.after < 0) {
      // Explicit padding larger than the filter: skip dy rows that reach no input.
      const top = Math.max(-ph.before, 0), left = Math.max(-pw.before, 0);
      src = runWasm(backend, "Slice", { x: dy }, {
        begin: [0, top, left, 0],
        size: [batch, dh - top - Math.max(-ph.after, 0), dw - left - Math.max(-pw.after, 0), co],
      });
      temps.push(src);
    }
    return runWasm(backend, "Conv2D", { x: src, filter }, {
      strides: [1, 1],
      pad: [[0, 0], [Math.max(ph.before, 0), Math.max(ph.after, 0)], [
        Math.max(pw.before, 0),
        Math.max(pw.after, 0),
      ], [0, 0]],
      dataFormat: "NHWC",
      dilations: [1, 1],
      dimRoundingMode: "floor",
    });
  } finally {
    free(backend, ...temps);
  }
}

/**
 * Interleave phase outputs `parts[rh][rw]` (`[B, hq, wq, C]`) into `[B, H, W, C]`:
 * `out[b, q·sh + rh, p·sw + rw, c] = parts[rh][rw][b, q, p, c]`, dropping
 * positions past `H` or `W`. One pass on the heap, copying runs of `C`.
 */
function interleave(
  backend: WasmBackend,
  parts: tf.TensorInfo[][],
  phaseShape: [number, number, number, number],
  outShape: [number, number, number, number],
): tf.TensorInfo {
  const [batch, hq, wq, c] = phaseShape;
  const [, h, w] = outShape;
  const sh = parts.length, sw = parts[0]!.length;
  const out = backend.makeOutput(outShape, "float32");
  // Views are taken after the allocation: allocating may grow (and detach) the heap.
  const dst = backend.typedArrayFromHeap(out) as Float32Array;
  const srcs = parts.map((row) => row.map((p) => backend.typedArrayFromHeap(p) as Float32Array));
  for (let b = 0; b < batch; b++) {
    for (let q = 0; q < hq; q++) {
      for (let rh = 0; rh < sh; rh++) {
        const y = q * sh + rh;
        if (y >= h) break;
        const row = srcs[rh]!;
        let d = (b * h + y) * w * c;
        const s0 = (b * hq + q) * wq * c;
        for (let p = 0; p < wq; p++) {
          for (let rw = 0; rw < sw && p * sw + rw < w; rw++, d += c) {
            const src = row[rw]!;
            for (let k = 0, s = s0 + p * c; k < c; k++, s++) dst[d + k] = src[s]!;
          }
        }
      }
    }
  }
  return out;
}

/**
 * Below this many input channels the phase convolutions would have too few
 * output channels for XNNPACK (it pads them to its register tile: at one
 * channel it runs near 2 GFLOP/s); {@linkcode scatterInputGradient} is used.
 */
const SCATTER_MAX_CHANNELS = 2;

/**
 * The input gradient as a matrix product and a scatter-add ("col2im"):
 * `T = dy · Wᵀ` (`[B·Ho·Wo, kh·kw·Ci]`, on the fast BatchMatMul), then every
 * `T[b, ho, wo, (i, j, c)]` is added to `dx[b, ho·s + i − p, wo·s + j − p, c]`.
 * For few input channels (the first layer of a net, a one-channel output).
 */
function scatterInputGradient(
  backend: WasmBackend,
  dy: tf.TensorInfo,
  filter: tf.TensorInfo,
  info: tf.backend_util.Conv2DInfo,
): tf.TensorInfo {
  const { batchSize: bs, inHeight: h, inWidth: w, inChannels: ci, outChannels: co } = info;
  const { outHeight: ho, outWidth: wo, filterHeight: kh, filterWidth: kw } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top, pl = info.padInfo.left;
  const taps = kh * kw * ci;
  const wt = runWasm(backend, "Transpose", { x: view(filter, [taps, co]) }, { perm: [1, 0] });
  let t: tf.TensorInfo | undefined;
  try {
    t = runWasm(backend, "BatchMatMul", { a: view(dy, [bs * ho * wo, co]), b: wt }, {
      transposeA: false,
      transposeB: false,
    }); // [B·Ho·Wo, kh·kw·Ci]
    const out = backend.makeOutput([bs, h, w, ci], "float32");
    // Views are taken after the allocation: allocating may grow (and detach) the heap.
    const src = backend.typedArrayFromHeap(t) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    dst.fill(0);
    const rowTaps = kw * ci;
    for (let b = 0; b < bs; b++) {
      for (let r = 0; r < ho; r++) {
        for (let i = 0; i < kh; i++) {
          const y = r * sh + i - pt;
          if (y < 0 || y >= h) continue;
          const rowBase = (b * h + y) * w;
          let s = ((b * ho + r) * wo) * taps + i * rowTaps;
          for (let q = 0; q < wo; q++, s += taps) {
            const x0 = q * sw - pl;
            const jLo = Math.max(0, -x0), jHi = Math.min(kw, w - x0);
            for (let j = jLo; j < jHi; j++) {
              const d = (rowBase + x0 + j) * ci, sj = s + j * ci;
              for (let c = 0; c < ci; c++) dst[d + c]! += src[sj + c]!;
            }
          }
        }
      }
    }
    return out;
  } finally {
    free(backend, wt);
    if (t !== undefined) free(backend, t);
  }
}

/** Compute the input gradient of a 2-D convolution on the wasm backend. */
function conv2dBackpropInput(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const dy = input(args.inputs, "dy", "Conv2DBackpropInput");
  const filter = input(args.inputs, "filter", "Conv2DBackpropInput");
  const attrs = args.attrs as unknown as Attrs;
  const info = conv2dGradInfo("Conv2DBackpropInput", attrs, {
    inputShape: attrs.inputShape,
    filterShape: filter.shape as [number, number, number, number],
    tensors: [dy, filter],
  });
  if (info.inChannels <= SCATTER_MAX_CHANNELS) {
    return scatterInputGradient(backend, dy, filter, info);
  }
  const { batchSize, inHeight, inWidth, inChannels, strideHeight: sh, strideWidth: sw } = info;
  const hq = Math.ceil(inHeight / sh), wq = Math.ceil(inWidth / sw);
  const phaseShape: [number, number, number, number] = [batchSize, hq, wq, inChannels];
  const wt = runWasm(backend, "Transpose", { x: filter }, { perm: [0, 1, 3, 2] }); // [kh, kw, Co, Ci]
  const parts: tf.TensorInfo[][] = [];
  const temps: tf.TensorInfo[] = [wt];
  try {
    for (let rh = 0; rh < sh; rh++) {
      const ph = axisPhase(rh, info.filterHeight, sh, info.padInfo.top, info.outHeight, hq);
      const row: tf.TensorInfo[] = [];
      for (let rw = 0; rw < sw; rw++) {
        const pw = axisPhase(rw, info.filterWidth, sw, info.padInfo.left, info.outWidth, wq);
        const part = phaseConv(backend, dy, wt, ph, pw, [sh, sw], phaseShape);
        row.push(part);
        temps.push(part);
      }
      parts.push(row);
    }
    if (sh === 1 && sw === 1) {
      temps.pop(); // the single phase is the result
      return parts[0]![0]!;
    }
    return interleave(backend, parts, phaseShape, [batchSize, inHeight, inWidth, inChannels]);
  } finally {
    free(backend, ...temps);
  }
}

/** The voxlab `Conv2DBackpropInput` kernel for the wasm backend. */
export const conv2dBackpropInputConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropInput",
  backendName: "wasm",
  kernelFunc: conv2dBackpropInput as tf.KernelFunc,
};
