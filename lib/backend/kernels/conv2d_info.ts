/**
 * The geometry both wasm convolution-gradient kernels start from, with the
 * checks they share (NHWC, float32).
 *
 * @module
 */

import { tf } from "../../deps.ts";

/** Attributes tfjs passes to both `Conv2DBackpropFilter` and `Conv2DBackpropInput`. */
export interface Conv2DGradAttrs {
  /** Strides `[sh, sw]` or one for both. */
  strides: [number, number] | number;
  /** Padding as tfjs gives it. */
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  /** Data layout; only NHWC is supported. */
  dataFormat: "NHWC" | "NCHW";
  /** Rounding of the output size. */
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** The convolution a gradient kernel is asked about. */
export interface Conv2DGradOperands {
  /** Shape of the convolution's input `[B, H, W, Ci]`. */
  inputShape: [number, number, number, number];
  /** Shape of its filter `[kh, kw, Ci, Co]`. */
  filterShape: [number, number, number, number];
  /** The kernel's two tensor inputs, in the order its error message names their dtypes. */
  tensors: [tf.TensorInfo, tf.TensorInfo];
}

/**
 * Compute the convolution's geometry for the gradient kernel `kernel`.
 *
 * @throws {Error} for NCHW data.
 * @throws {TypeError} when either tensor is not float32.
 */
export function conv2dGradInfo(
  kernel: string,
  attrs: Conv2DGradAttrs,
  operands: Conv2DGradOperands,
): tf.backend_util.Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(
    operands.inputShape,
    operands.filterShape,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
  if (info.dataFormat !== "channelsLast") {
    throw new Error(`Cannot compute ${kernel} on wasm: only NHWC data is supported`);
  }
  const [a, b] = operands.tensors;
  if (a.dtype !== "float32" || b.dtype !== "float32") {
    throw new TypeError(
      `Cannot compute ${kernel} on wasm: expected float32, got ${a.dtype} and ${b.dtype}`,
    );
  }
  return info;
}
