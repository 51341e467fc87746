/**
 * Patch matrices ("im2col") on the wasm heap.
 *
 * @module
 */

import type { tf } from "../../deps.ts";
import { free, runWasm, view, type WasmBackend } from "./wasm_call.ts";

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

/** Rows at least this long are copied with `TypedArray.set` (a memcpy); shorter ones by a loop. */
const MEMCPY_MIN = 48;

/**
 * The transposed patch matrix of `x` (`[B, H, W, C]`):
 * `[kh * kw * C, B * outHeight * outWidth]`, row `(i, j, c)` and column
 * `(b, ho, wo)` holding `x[b, ho * sh + i - padTop, wo * sw + j - padLeft, c]`
 * (zero outside `x`).
 *
 * `x` is made channels-first and, for strides above 1, split into its
 * `sh · sw` stride phases with the wasm Transpose kernel; every patch row is
 * then a contiguous run of one phase, copied straight into the result, with
 * the zero padding written as it goes (no padded copy, no per-tap slices, no
 * concat). The caller frees the result.
 */
export function patchesTransposed(
  backend: WasmBackend,
  x: tf.TensorInfo,
  g: PatchGeometry,
): tf.TensorInfo {
  const [batch, height, width, channels] = x.shape as [number, number, number, number];
  const { kh, kw, sh, sw, padTop, padLeft, outHeight: ho, outWidth: wo } = g;
  const temps: tf.TensorInfo[] = [];
  try {
    // Channels-first [C, B, H, W]; with one channel, NHWC already is.
    let planes = x;
    if (channels > 1) {
      planes = runWasm(backend, "Transpose", { x }, { perm: [3, 0, 1, 2] });
      temps.push(planes);
    }
    // Stride phases [sh, sw, C·B, hs, ws]: phase (ph, pw) holds x[.., y·sh + ph, z·sw + pw].
    const hs = Math.ceil(height / sh), ws = Math.ceil(width / sw);
    if (sh * sw > 1) {
      if (hs * sh !== height || ws * sw !== width) {
        planes = runWasm(backend, "PadV2", { x: view(planes, [channels * batch, height, width]) }, {
          paddings: [[0, 0], [0, hs * sh - height], [0, ws * sw - width]],
          constantValue: 0,
        });
        temps.push(planes);
      }
      planes = runWasm(
        backend,
        "Transpose",
        { x: view(planes, [channels * batch * hs, sh, ws, sw]) },
        { perm: [1, 3, 0, 2] },
      );
      temps.push(planes);
    }
    const cols = batch * ho * wo;
    const out = backend.makeOutput([kh * kw * channels, cols], "float32");
    // Views are taken after the allocation: allocating may grow (and detach) the heap.
    const src = backend.typedArrayFromHeap(planes) as Float32Array;
    const dst = backend.typedArrayFromHeap(out) as Float32Array;
    const plane = hs * ws, phaseSize = channels * batch * plane;
    for (let i = 0; i < kh; i++) {
      // Input row r·sh + i − padTop is row r + oy of phase ph.
      const ph = (((i - padTop) % sh) + sh) % sh, oy = Math.floor((i - padTop) / sh);
      for (let j = 0; j < kw; j++) {
        const pw = (((j - padLeft) % sw) + sw) % sw, ox = Math.floor((j - padLeft) / sw);
        // Output columns q whose phase column q + ox lies inside the phase.
        const lo = Math.min(wo, Math.max(0, -ox));
        const hi = Math.max(lo, Math.min(wo, ws - ox));
        const n = hi - lo;
        const tap = i * kw + j;
        const phaseBase = (ph * sw + pw) * phaseSize + lo + ox;
        for (let cb = 0; cb < channels * batch; cb++) {
          const c = Math.floor(cb / batch), b = cb % batch;
          let d = (tap * channels + c) * cols + b * ho * wo;
          const base = phaseBase + cb * plane;
          for (let r = 0; r < ho; r++, d += wo) {
            const y = r + oy;
            if (y < 0 || y >= hs) {
              dst.fill(0, d, d + wo);
              continue;
            }
            if (lo > 0) dst.fill(0, d, d + lo);
            if (hi < wo) dst.fill(0, d + hi, d + wo);
            const s = base + y * ws;
            if (n >= MEMCPY_MIN) {
              dst.set(src.subarray(s, s + n), d + lo);
              continue;
            }
            for (let k = d + lo, e = d + hi, t = s; k < e; k++, t++) dst[k] = src[t]!;
          }
        }
      }
    }
    return out;
  } finally {
    free(backend, ...temps);
  }
}
