/**
 * `Tile` for the wasm backend, replacing the package's slow one.
 *
 * Tiling `x` by `reps` is a broadcast: the output seen as
 * `[reps0, d0, reps1, d1, …]` is `x` seen as `[1, d0, 1, d1, …]` plus zeros of
 * shape `[reps0, 1, reps1, 1, …]`. After dropping unit axes and merging
 * neighbours of the same kind (`tf.batchNorm`'s gradient tiles `[1, 1, 1, C]`
 * by `[B, H, W, 1]`, which becomes `[1, C] + [B·H·W, 1]`), the wasm backend's
 * broadcasting Add does it in one pass.
 *
 * @module
 */

import { tf } from "../../deps.ts";
import { free, input, runWasm, view, type WasmBackend } from "./wasm_call.ts";

/** The broadcasting Add of the wasm backend (XNNPACK) handles at most this rank: rank 7 fails. */
const MAX_BROADCAST_RANK = 6;

/** Tile `x` on the wasm backend. */
function tile(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = input(args.inputs, "x", "Tile");
  const reps = (args.attrs?.reps ?? []) as number[];
  const outShape = x.shape.map((d, i) => d * (reps[i] ?? 1));
  // Alternate (repeat, extent) axes, drop unit ones, merge neighbours of one kind.
  const axes: { size: number; repeat: boolean }[] = [];
  x.shape.forEach((d, i) => {
    for (const axis of [{ size: reps[i] ?? 1, repeat: true }, { size: d, repeat: false }]) {
      if (axis.size === 1) continue;
      const last = axes[axes.length - 1];
      if (last !== undefined && last.repeat === axis.repeat) last.size *= axis.size;
      else axes.push({ ...axis });
    }
  });
  const plain = (x.dtype !== "float32" && x.dtype !== "int32") ||
    axes.length > MAX_BROADCAST_RANK || tf.util.sizeFromShape(outShape) === 0;
  if (plain) return runWasm(backend, "Tile", { x }, args.attrs);
  if (!axes.some((a) => a.repeat)) {
    const copy = runWasm(backend, "Identity", { x });
    return view(copy, outShape);
  }
  const zeros = runWasm(backend, "Fill", {}, {
    shape: axes.map((a) => (a.repeat ? a.size : 1)),
    value: 0,
    dtype: x.dtype,
  });
  try {
    const sum = runWasm(backend, "Add", {
      a: view(x, axes.map((a) => (a.repeat ? 1 : a.size))),
      b: zeros,
    });
    return view(sum, outShape);
  } finally {
    free(backend, zeros);
  }
}

/** The voxlab `Tile` kernel for the wasm backend. */
export const tileConfig: tf.KernelConfig = {
  kernelName: "Tile",
  backendName: "wasm",
  kernelFunc: tile as tf.KernelFunc,
};
