/**
 * `Conv2DBackpropFilter` for the wasm backend, which has none.
 *
 * The filter gradient of a convolution is a matrix product:
 * `dW[(i, j, c), o] = Σ_(b, ho, wo) x[b, ho·s + i − p, wo·s + j − p, c] · dy[b, ho, wo, o]`,
 * i.e. the transposed patch matrix of the (transposed, padded) input times
 * `dy` seen as `[B·Ho·Wo, Co]`. Both are built from the wasm backend's own
 * kernels; the product runs on its fast BatchMatMul (XNNPACK).
 *
 * @module
 */

import type { tf } from "../../deps.ts";
import { type Conv2DGradAttrs, conv2dGradInfo } from "./conv2d_info.ts";
import { patchesTransposed } from "./im2col.ts";
import { free, input, runWasm, view, type WasmBackend } from "./wasm_call.ts";

/** Attributes of tfjs's `Conv2DBackpropFilter` kernel. */
interface Attrs extends Conv2DGradAttrs {
  filterShape: [number, number, number, number];
}

/** Compute the filter gradient of a 2-D convolution on the wasm backend. */
function conv2dBackpropFilter(
  args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap },
): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const x = input(args.inputs, "x", "Conv2DBackpropFilter");
  const dy = input(args.inputs, "dy", "Conv2DBackpropFilter");
  const attrs = args.attrs as unknown as Attrs;
  const info = conv2dGradInfo("Conv2DBackpropFilter", attrs, {
    inputShape: x.shape as [number, number, number, number],
    filterShape: attrs.filterShape,
    tensors: [x, dy],
  });
  const col = patchesTransposed(backend, x, {
    kh: info.filterHeight,
    kw: info.filterWidth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
  }); // [kh·kw·Ci, B·Ho·Wo]
  try {
    const rows = info.batchSize * info.outHeight * info.outWidth;
    const dw = runWasm(backend, "BatchMatMul", { a: col, b: view(dy, [rows, info.outChannels]) }, {
      transposeA: false,
      transposeB: false,
    }); // [kh·kw·Ci, Co]
    return view(dw, [...attrs.filterShape]);
  } finally {
    free(backend, col);
  }
}

/** The voxlab `Conv2DBackpropFilter` kernel for the wasm backend. */
export const conv2dBackpropFilterConfig: tf.KernelConfig = {
  kernelName: "Conv2DBackpropFilter",
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilter as tf.KernelFunc,
};
