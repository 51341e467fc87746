/**
 * voxlab's generator and discriminator as one safetensors file, for PyTorch
 * (`tools/torch/voxlab_torch.py` loads it) and any other safetensors reader.
 *
 * - Tensors: every weight of both networks, BatchNorm running statistics
 *   included, named `generator.<name>` / `discriminator.<name>` where `<name>`
 *   is voxlab's weight name with `/` written as `.` (`down1/conv/kernel` →
 *   `generator.down1.conv.kernel`), in the networks' layer order, float32.
 * - Layouts are voxlab's (TensorFlow's), unchanged: activations NHWC,
 *   convolution kernels `[k, k, C_in, C_out]`, deconvolution kernels
 *   `[k, k, C_out, C_in]`, the classification kernel in blocks
 *   `cls/kernel/i` `[rows, h·w·C]` over the NHWC-flattened map (see
 *   {@linkcode WEIGHTS_LAYOUT}).
 * - Metadata (`__metadata__`, strings): `format`, `voxlab_version`,
 *   `config_hash`, `experiment`, `iteration`, `generator_config` and
 *   `discriminator_config` (the resolved model configs as JSON),
 *   `generator_plan` and `discriminator_plan` (the layer plans the
 *   constructors build: every stage's name, kind, geometry and output shape,
 *   JSON), `layout`, and `labels` (the run's label schema, JSON, when known).
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };
import type { NamedWeights } from "../model/params.ts";
import {
  Discriminator,
  type DiscriminatorConfig,
  discriminatorPlan,
  resolveDiscriminatorConfig,
} from "../model/discriminator.ts";
import {
  Generator,
  type GeneratorConfig,
  generatorPlan,
  resolveGeneratorConfig,
} from "../model/generator.ts";
import {
  type SafetensorsContents,
  SafetensorsError,
  type SafetensorsTensor,
} from "./safetensors.ts";

/** The `format` metadata of a voxlab weights export. */
export const WEIGHTS_FORMAT = "voxlab-weights/1";

/** voxlab's version, from `deno.json`. */
export const VOXLAB_VERSION: string = denoConfig.version;

/** The `layout` metadata: how tensors are laid out, for a reader in another framework. */
export const WEIGHTS_LAYOUT =
  "voxlab (TensorFlow) layouts: activations NHWC; conv kernels [k,k,C_in,C_out] (HWIO); " +
  "deconv kernels [k,k,C_out,C_in] (HWOI, conv2dTranspose); discriminator cls/kernel/i " +
  "[rows, h*w*C] over the NHWC-flattened last map; vectors [C]. " +
  "tools/torch/voxlab_torch.py converts to PyTorch's NCHW/OIHW.";

/** What the metadata records besides the networks. */
export interface WeightsInfo {
  /** Config hash of the run's resolved experiment. */
  configHash: string;
  /**
   * Experiment id.
   * @default {""}
   */
  experiment?: string;
  /**
   * The checkpoint's iteration.
   * @default {0}
   */
  iteration?: number;
  /**
   * The run's label schema as JSON text (which input and output label is which).
   * @default {undefined}
   */
  labels?: string;
}

function tensorsOf(
  prefix: string,
  weights: NamedWeights,
  shapes: Record<string, number[]>,
): Record<string, SafetensorsTensor> {
  const out: Record<string, SafetensorsTensor> = {};
  for (const [name, data] of Object.entries(weights)) {
    if (name.includes(".")) {
      throw new SafetensorsError(`Cannot export weight '${name}': its name contains '.'`);
    }
    out[`${prefix}.${name.replaceAll("/", ".")}`] = {
      dtype: "F32",
      shape: shapes[name] ?? [data.length],
      data,
    };
  }
  return out;
}

/**
 * The safetensors contents of a generator and a discriminator (see the module doc).
 *
 * @example Tiny networks
 * ```ts
 * import { weightsToSafetensors } from "./export_weights.ts";
 * import { Discriminator, Generator } from "../model/mod.ts";
 * import { tf } from "../deps.ts";
 * await tf.setBackend("cpu");
 * const g = new Generator({ height: 16, width: 16, widths: [2, 4], resBlocks: 1, nIn: 3 });
 * const d = new Discriminator({ height: 16, width: 16, widths: [2, 4], nOut: 2, featureLayer: 1 });
 * const st = weightsToSafetensors(g, d, { configHash: "0123" });
 * console.assert(st.tensors["generator.down1.conv.kernel"]!.shape.join() === "7,7,1,2");
 * console.assert(JSON.parse(st.metadata.generator_config!).nIn === 3);
 * g.dispose();
 * d.dispose();
 * ```
 */
export function weightsToSafetensors(
  generator: Generator,
  discriminator: Discriminator,
  info: WeightsInfo,
): SafetensorsContents {
  const metadata: Record<string, string> = {
    format: WEIGHTS_FORMAT,
    voxlab_version: VOXLAB_VERSION,
    config_hash: info.configHash,
    experiment: info.experiment ?? "",
    iteration: String(info.iteration ?? 0),
    generator_config: JSON.stringify(generator.config),
    discriminator_config: JSON.stringify(discriminator.config),
    generator_plan: JSON.stringify(generatorPlan(generator.config)),
    discriminator_plan: JSON.stringify(discriminatorPlan(discriminator.config)),
    layout: WEIGHTS_LAYOUT,
  };
  if (info.labels !== undefined) metadata.labels = info.labels;
  return {
    tensors: {
      ...tensorsOf("generator", generator.getWeights(), generator.weightShapes()),
      ...tensorsOf("discriminator", discriminator.getWeights(), discriminator.weightShapes()),
    },
    metadata,
  };
}

/** The networks' configs and weights read back from an export. */
export interface ImportedWeights {
  /** The generator's resolved config. */
  generatorConfig: GeneratorConfig;
  /** The discriminator's resolved config. */
  discriminatorConfig: DiscriminatorConfig;
  /** The generator's weights by voxlab name (`down1/conv/kernel`). */
  generator: NamedWeights;
  /** The discriminator's weights by voxlab name. */
  discriminator: NamedWeights;
}

/**
 * Read an export back into configs and voxlab-named weights (the inverse of
 * {@linkcode weightsToSafetensors}); `source` names the file in errors.
 *
 * @throws {SafetensorsError} when the contents are not a voxlab weights export.
 */
export function safetensorsToWeights(
  contents: SafetensorsContents,
  source = "safetensors data",
): ImportedWeights {
  const fail = (why: string) => new SafetensorsError(`Cannot read '${source}': ${why}`);
  const { metadata } = contents;
  if (metadata.format !== WEIGHTS_FORMAT) {
    throw fail(
      `metadata format is ${JSON.stringify(metadata.format)}, expected '${WEIGHTS_FORMAT}'`,
    );
  }
  const config = (key: string) => {
    try {
      return JSON.parse(metadata[key] ?? "");
    } catch {
      throw fail(`metadata '${key}' is missing or not JSON`);
    }
  };
  let generatorConfig: GeneratorConfig, discriminatorConfig: DiscriminatorConfig;
  try {
    generatorConfig = resolveGeneratorConfig(config("generator_config"));
    discriminatorConfig = resolveDiscriminatorConfig(config("discriminator_config"));
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    throw fail((e as Error).message);
  }
  const weights: { generator: NamedWeights; discriminator: NamedWeights } = {
    generator: {},
    discriminator: {},
  };
  for (const [name, t] of Object.entries(contents.tensors)) {
    const dot = name.indexOf(".");
    const side = name.slice(0, dot);
    if (dot < 0 || (side !== "generator" && side !== "discriminator")) {
      throw fail(`tensor '${name}' is neither generator.* nor discriminator.*`);
    }
    if (!(t.data instanceof Float32Array)) throw fail(`tensor '${name}' is ${t.dtype}, not F32`);
    weights[side][name.slice(dot + 1).replaceAll(".", "/")] = t.data;
  }
  return { generatorConfig, discriminatorConfig, ...weights };
}

/**
 * Build both networks from an export (configs and weights).
 *
 * @throws {SafetensorsError} when the contents are not a voxlab export or do not fit the configs.
 */
export function networksFromSafetensors(
  contents: SafetensorsContents,
  source = "safetensors data",
): { generator: Generator; discriminator: Discriminator } {
  const imported = safetensorsToWeights(contents, source);
  const generator = new Generator(imported.generatorConfig);
  const discriminator = new Discriminator(imported.discriminatorConfig);
  try {
    generator.setWeights(imported.generator);
    discriminator.setWeights(imported.discriminator);
  } catch (e) {
    generator.dispose();
    discriminator.dispose();
    throw new SafetensorsError(`Cannot read '${source}': ${(e as Error).message}`);
  }
  return { generator, discriminator };
}
