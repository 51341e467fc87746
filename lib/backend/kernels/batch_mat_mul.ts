/**
 * `BatchMatMul` and `_FusedMatMul` for the wasm backend with fast transposes.
 *
 * The package's kernels run at 1–2 GFLOP/s when `transposeA` or `transposeB`
 * is set (tfjs's MatMul gradient sets both), against tens of GFLOP/s without.
 * These kernels transpose the operand explicitly with the fast Transpose
 * kernel and then run the package's own kernel without transposes.
 *
 * @module
 */

import type { tf } from "../../deps.ts";
import { free, input, runWasm, type WasmBackend } from "./wasm_call.ts";

/** Swap the last two axes of `x` with the wasm Transpose kernel. */
function transposeLast2(backend: WasmBackend, x: tf.TensorInfo): tf.TensorInfo {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return runWasm(backend, "Transpose", { x }, { perm });
}

/** Run the package's `kernel` on `a`, `b` without transposes, transposing them first. */
function untransposed(
  kernel: string,
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const attrs = args.attrs ?? {};
  const a = input(args.inputs, "a", kernel);
  const b = input(args.inputs, "b", kernel);
  if (!attrs.transposeA && !attrs.transposeB) {
    return runWasm(backend, kernel, args.inputs, attrs);
  }
  const temps: tf.TensorInfo[] = [];
  try {
    const a2 = attrs.transposeA ? transposeLast2(backend, a) : a;
    if (a2 !== a) temps.push(a2);
    const b2 = attrs.transposeB ? transposeLast2(backend, b) : b;
    if (b2 !== b) temps.push(b2);
    return runWasm(backend, kernel, { ...args.inputs, a: a2, b: b2 }, {
      ...attrs,
      transposeA: false,
      transposeB: false,
    });
  } finally {
    free(backend, ...temps);
  }
}

/** The voxlab `BatchMatMul` kernel for the wasm backend. */
export const batchMatMulConfig: tf.KernelConfig = {
  kernelName: "BatchMatMul",
  backendName: "wasm",
  kernelFunc: ((args) => untransposed("BatchMatMul", args)) as tf.KernelFunc,
};

/** The voxlab `_FusedMatMul` kernel for the wasm backend. */
export const fusedMatMulConfig: tf.KernelConfig = {
  kernelName: "_FusedMatMul",
  backendName: "wasm",
  kernelFunc: ((args) => untransposed("_FusedMatMul", args)) as tf.KernelFunc,
};
