/**
 * Patch matrices ("im2col") on the wasm heap.
 *
 * @module
 */

import type { tf } from "../../deps.ts";
import { free, runWasm, type WasmBackend } from "./wasm_call.ts";

/** The geometry of a 2-D convolution over an NHWC input. */
export interface PatchGeometry {
  /** Filter height. */
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
 * `x` is first made channels-first with the wasm Transpose kernel; one loop
 * then copies every row of every patch straight into the result, writing the
 * zero padding as it goes (no padded copy, no per-tap slices, no concat). The
 * caller frees the result.
 */
export function patchesTransposed(
  backend: WasmBackend,
  x: tf.TensorInfo,
  g: PatchGeometry,
): tf.TensorInfo {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const { kh, kw, sh, sw, padTop, padLeft, outHeight: ho, outWidth: wo } = g;
  // Channels-first [C, B, H, W]; with one channel, NHWC already is.
  const xt = channels === 1 ? x : runWasm(backend, "Transpose", { x }, { perm: [3, 0, 1, 2] });
  try {
    const cols = batch * ho * wo;
    const out = backend.makeOutput([kh * kw * channels, cols], "float32");
    // Views are taken after the allocation: allocating may grow (and detach) the heap.
    const src = backend.typedArrayFromHeap(xt) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const plane = height * width;
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        // Output columns whose input column wo·sw + j − padLeft lies inside x.
        const lo = Math.min(wo, Math.max(0, Math.ceil((padLeft - j) / sw)));
        const hi = Math.max(lo, Math.min(wo, Math.floor((width - 1 + padLeft - j) / sw) + 1));
        const tap = i * kw + j;
        for (let c = 0; c < channels; c++) {
          let d = (tap * channels + c) * cols;
          for (let b = 0; b < batch; b++) {
            const base = (c * batch + b) * plane + lo * sw + j - padLeft;
            for (let r = 0; r < ho; r++, d += wo) {
              const h = r * sh + i - padTop;
              if (h < 0 || h >= height) {
                dst.fill(0, d, d + wo);
                continue;
              }
              if (lo > 0) dst.fill(0, d, d + lo);
              let s = base + h * width;
              for (let k = d + lo, end = d + hi; k < end; k++, s += sw) dst[k] = src[s]!;
              if (hi < wo) dst.fill(0, d + hi, d + wo);
            }
          }
        }
      }
    }
    return out;
  } finally {
    if (xt !== x) free(backend, xt);
  }
}
