/**
 * Convolution kernels for the native `tensorflow` backend that accept every padding tfjs passes.
 *
 * tfjs-node 4.22's `Conv2D` forwards `valid`, `same` and explicit padding to TensorFlow, but its
 * `Conv2DBackpropInput` and `Conv2DBackpropFilter` refuse anything but `valid` and `same`, and a
 * number (`tf.conv2d(x, w, 2, 1)`, voxlab's Chainer-style padding) is refused by all three
 * (`TF Backend supports only 'valid' and 'same' padding while padding was NUMBER`). TensorFlow's
 * own ops take `padding: "EXPLICIT"` with `explicit_paddings` (8 numbers, two per NHWC axis);
 * these kernels pass numeric and explicit padding that way and everything else as before.
 *
 * @module
 */

import { tf } from "../../deps.ts";

/** An op attribute as tfjs-node's binding takes it. */
export interface OpAttr {
  name: string;
  type: number;
  value: number | number[] | string | boolean;
}

/** The part of tfjs-node's `NodeJSKernelBackend` voxlab's tensorflow kernels use. */
export interface NodeBackend {
  binding: {
    TF_ATTR_INT: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_ATTR_TYPE: number;
    TF_FLOAT: number;
  };
  executeSingleOutput(name: string, attrs: OpAttr[], inputs: tf.TensorInfo[]): tf.TensorInfo;
  executeMultipleOutputs(
    name: string,
    attrs: OpAttr[],
    inputs: tf.TensorInfo[],
    numOutputs: number,
  ): tf.TensorInfo[];
}

/** Attributes tfjs passes to the three convolution kernels. */
interface ConvAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dilations?: [number, number] | number;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/** The attributes TensorFlow's Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter share. */
function convAttrs(
  kernel: string,
  backend: NodeBackend,
  info: tf.backend_util.Conv2DInfo,
  inputs: tf.TensorInfo[],
): OpAttr[] {
  for (const t of inputs) {
    if (t.dtype !== "float32") {
      throw new TypeError(
        `Cannot compute ${kernel} on tensorflow: expected float32, got ${t.dtype}`,
      );
    }
  }
  const b = backend.binding;
  const nhwc = info.dataFormat === "channelsLast";
  const { type, top, bottom, left, right } = info.padInfo;
  // VALID and SAME go through unchanged; a number or explicit pads become EXPLICIT.
  const padding = type === "VALID" || type === "SAME" ? type : "EXPLICIT";
  const attrs: OpAttr[] = [
    { name: "T", type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    {
      name: "strides",
      type: b.TF_ATTR_INT,
      value: nhwc
        ? [1, info.strideHeight, info.strideWidth, 1]
        : [1, 1, info.strideHeight, info.strideWidth],
    },
    { name: "padding", type: b.TF_ATTR_STRING, value: padding },
    { name: "data_format", type: b.TF_ATTR_STRING, value: nhwc ? "NHWC" : "NCHW" },
    { name: "use_cudnn_on_gpu", type: b.TF_ATTR_BOOL, value: true },
    {
      name: "dilations",
      type: b.TF_ATTR_INT,
      value: nhwc
        ? [1, info.dilationHeight, info.dilationWidth, 1]
        : [1, 1, info.dilationHeight, info.dilationWidth],
    },
  ];
  if (padding === "EXPLICIT") {
    attrs.push({
      name: "explicit_paddings",
      type: b.TF_ATTR_INT,
      value: nhwc ? [0, 0, top, bottom, left, right, 0, 0] : [0, 0, 0, 0, top, bottom, left, right],
    });
  }
  return attrs;
}

function convInfo(
  inShape: number[],
  filterShape: number[],
  attrs: ConvAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    inShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    attrs.dilations ?? 1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    tf.backend_util.convertConv2DDataFormat(attrs.dataFormat),
  );
}

/** `Conv2D` with numeric and explicit padding. */
export const tensorflowConv2DConfig: tf.KernelConfig = {
  kernelName: tf.Conv2D,
  backendName: "tensorflow",
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, filter } = inputs as { x: tf.TensorInfo; filter: tf.TensorInfo };
    const nb = backend as unknown as NodeBackend;
    const info = convInfo(x.shape, filter.shape, attrs as unknown as ConvAttrs);
    return nb.executeSingleOutput(
      tf.Conv2D,
      convAttrs(tf.Conv2D, nb, info, [x, filter]),
      [x, filter],
    );
  },
};

/** `Conv2DBackpropInput` (the input gradient, and `conv2dTranspose`) with any padding. */
export const tensorflowConv2DBackpropInputConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropInput,
  backendName: "tensorflow",
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const nb = backend as unknown as NodeBackend;
    const a = attrs as unknown as ConvAttrs & { inputShape: number[] };
    const info = convInfo(a.inputShape, filter.shape, { ...a, dilations: 1 });
    const sizes = tf.tensor1d(info.inShape, "int32");
    try {
      return nb.executeSingleOutput(
        tf.Conv2DBackpropInput,
        convAttrs(tf.Conv2DBackpropInput, nb, info, [dy, filter]),
        [sizes, filter, dy],
      );
    } finally {
      sizes.dispose();
    }
  },
};

/** `Conv2DBackpropFilter` (the filter gradient) with any padding. */
export const tensorflowConv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: "tensorflow",
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const nb = backend as unknown as NodeBackend;
    const a = attrs as unknown as ConvAttrs & { filterShape: number[] };
    const info = convInfo(x.shape, a.filterShape, { ...a, dilations: 1 });
    const sizes = tf.tensor1d(info.filterShape, "int32");
    try {
      return nb.executeSingleOutput(
        tf.Conv2DBackpropFilter,
        convAttrs(tf.Conv2DBackpropFilter, nb, info, [x, dy]),
        [x, sizes, dy],
      );
    } finally {
      sizes.dispose();
    }
  },
};
