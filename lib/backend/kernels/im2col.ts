/**
 * Patch matrices ("im2col") built from the wasm backend's own kernels.
 *
 * @module
 */

import type { tf } from "../../deps.ts";
import { free, runWasm, view, type WasmBackend } from "./wasm_call.ts";

/** The geometry of a 2-D convolution over an NHWC input. */
export interface PatchGeometry {
  /** Filter height and width. */
  kh: number;
  /** Filter width. */
  kw: number;
  /** Vertical stride. */
  sh: number;
  /** Horizontal stride. */
  sw: number;
  /** Zero rows added above the input. */
  padTop: number;
  /** Zero columns added left of the input. */
  padLeft: number;
  /** Output height. */
  outHeight: number;
  /** Output width. */
  outWidth: number;
}

/**
 * The transposed patch matrix of `x` (`[B, H, W, C]`):
 * `[kh * kw * C, B * outHeight * outWidth]`, row `(i, j, c)` and column
 * `(b, ho, wo)` holding `x[b, ho * sh + i - padTop, wo * sw + j - padLeft, c]`
 * (zero outside `x`).
 *
 * Built as: channels-first transpose, zero pad, split into the `sh * sw`
 * stride phases, then one contiguous slice per filter tap, concatenated.
 * Every step is a wasm kernel touching each element once; the caller frees
 * the result.
 */
export function patchesTransposed(
  backend: WasmBackend,
  x: tf.TensorInfo,
  g: PatchGeometry,
): tf.TensorInfo {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  // Rows of the padded input the patches read, rounded up to whole stride phases.
  const hq = Math.floor((g.kh - 1) / g.sh) + g.outHeight;
  const wq = Math.floor((g.kw - 1) / g.sw) + g.outWidth;
  const padBottom = hq * g.sh - g.padTop - height;
  const padRight = wq * g.sw - g.padLeft - width;
  const temps: tf.TensorInfo[] = [];
  try {
    let cur = x;
    if (padBottom < 0 || padRight < 0) {
      // Trailing rows or columns that no patch reads.
      cur = runWasm(backend, "Slice", { x: cur }, {
        begin: [0, 0, 0, 0],
        size: [batch, height + Math.min(padBottom, 0), width + Math.min(padRight, 0), channels],
      });
      temps.push(cur);
    }
    cur = runWasm(backend, "Transpose", { x: cur }, { perm: [3, 0, 1, 2] }); // [C, B, H, W]
    temps.push(cur);
    const pads = [g.padTop, Math.max(padBottom, 0), g.padLeft, Math.max(padRight, 0)];
    if (pads.some((p) => p !== 0)) {
      cur = runWasm(backend, "PadV2", { x: cur }, {
        paddings: [[0, 0], [0, 0], [pads[0]!, pads[1]!], [pads[2]!, pads[3]!]],
        constantValue: 0,
      }); // [C, B, hq * sh, wq * sw]
      temps.push(cur);
    }
    const cb = channels * batch;
    let phases: tf.TensorInfo; // [sh * sw, C * B, hq, wq]
    if (g.sh * g.sw > 1) {
      const split = runWasm(backend, "Transpose", { x: view(cur, [cb * hq, g.sh, wq, g.sw]) }, {
        perm: [1, 3, 0, 2],
      });
      temps.push(split);
      phases = view(split, [g.sh * g.sw, cb, hq, wq]);
    } else {
      phases = view(cur, [1, cb, hq, wq]);
    }
    const taps: tf.TensorInfo[] = [];
    try {
      for (let i = 0; i < g.kh; i++) {
        for (let j = 0; j < g.kw; j++) {
          const phase = (i % g.sh) * g.sw + (j % g.sw);
          taps.push(runWasm(backend, "Slice", { x: phases }, {
            begin: [phase, 0, Math.floor(i / g.sh), Math.floor(j / g.sw)],
            size: [1, cb, g.outHeight, g.outWidth],
          }));
        }
      }
      const col = taps.length === 1
        ? taps.pop()!
        : runWasm(backend, "Concat", taps as unknown as tf.NamedTensorInfoMap, { axis: 0 });
      return view(col, [g.kh * g.kw * channels, batch * g.outHeight * g.outWidth]);
    } finally {
      free(backend, ...taps);
    }
  } finally {
    free(backend, ...temps);
  }
}
