/**
 * Checking that a value is a well-formed {@linkcode Experiment}, field by
 * field, with errors that name the dot path.
 *
 * @module
 */
import { pathNameProblem } from "../io/path_name.ts";
import { RESAMPLE_QUALITIES } from "../data/resample.ts";
import type {
  AttributeSpecEntry,
  DataSpec,
  DiscriminatorSpec,
  Experiment,
  ExperimentMeta,
  FeatureSpec,
  GeneratorSpec,
  LabelSpec,
  LossSpec,
  OptimizerSpec,
  PairSpec,
  ScheduleSpec,
  SplitSpecEntry,
  TermSpec,
  TrainerSpec,
} from "./types.ts";

/** A field's kind, as the validator and `--set` understand it. */
export type FieldSchema =
  | { type: "number"; min?: number; int?: boolean; positive?: boolean }
  | { type: "string"; nullable?: boolean; values?: readonly string[] }
  | { type: "boolean" }
  | { type: "array"; items: FieldSchema; minLength?: number; nullable?: boolean }
  | { type: "object"; fields: Record<string, FieldSchema>; optional?: readonly string[] }
  | { type: "record"; values: FieldSchema }
  | { type: "tagged"; tag: string; variants: Record<string, Record<string, FieldSchema>> };

const num = (extra: { min?: number; int?: boolean; positive?: boolean } = {}): FieldSchema => ({
  type: "number",
  ...extra,
});
const int = (min: number): FieldSchema => ({ type: "number", int: true, min });
const str: FieldSchema = { type: "string" };

/**
 * The schema of an object type `T`: one field schema for each of `T`'s keys,
 * no more and no fewer (the compiler checks), so the schema cannot drift from
 * the type it validates. `optional` lists the keys `T` lets an object leave out.
 */
function object<T>(
  fields: { [K in keyof T]-?: FieldSchema },
  optional?: readonly (keyof T & string)[],
): FieldSchema {
  return optional
    ? { type: "object", fields: fields as Record<string, FieldSchema>, optional }
    : { type: "object", fields: fields as Record<string, FieldSchema> };
}

/** The fields of each variant of a tagged union `T` (tag `kind`), keyed by the tag. */
type Variants<T extends { kind: string }> = {
  [K in T["kind"]]: { [F in Exclude<keyof Extract<T, { kind: K }>, "kind">]-?: FieldSchema };
};

const unit: FieldSchema = { type: "string", values: ["iterations", "epochs"] };

const scheduleVariants: Variants<ScheduleSpec> = {
  constant: {},
  step: { unit, every: int(1), factor: num({ positive: true }) },
  linear: { unit, start: int(0), end: int(0), final: num({ min: 0 }) },
};

const optimizer = object<OptimizerSpec>({
  kind: { type: "string", values: ["rmsprop", "adam"] },
  lr: num({ positive: true }),
  alpha: num({ min: 0 }),
  beta1: num({ min: 0 }),
  eps: num({ min: 0 }),
  schedule: { type: "tagged", tag: "kind", variants: scheduleVariants },
});

const term = object<TermSpec>({ weight: num(), from: int(0), until: int(1) }, ["from", "until"]);

/**
 * The schema of {@linkcode Experiment}: each object's fields are exactly those
 * of its type in `types.ts` (the model specs' come from `lib/model`'s configs,
 * the features from `lib/data`'s `FeatureConfig`).
 */
export const EXPERIMENT_SCHEMA: FieldSchema = object<Experiment>({
  meta: object<ExperimentMeta>({
    id: str,
    title: str,
    base: { type: "string", nullable: true },
    note: str,
    tags: { type: "array", items: str },
  }),
  data: object<DataSpec>({
    dataset: { type: "string", nullable: true },
    features: object<FeatureSpec>({
      sampleRate: int(1),
      hop: int(1),
      bins: int(1),
      segmentFrames: int(1),
      minDb: num(),
      maxDb: num(),
      resampleQuality: { type: "string", values: RESAMPLE_QUALITIES },
    }),
    labels: object<LabelSpec>({
      attributes: {
        type: "array",
        nullable: true,
        minLength: 1,
        items: object<AttributeSpecEntry>({
          name: str,
          values: { type: "array", items: str, minLength: 1 },
          classified: { type: "boolean" },
        }),
      },
      conditionOnly: { type: "array", items: str },
    }),
    split: object<SplitSpecEntry>({ heldOut: num({ min: 0 }), seed: int(0) }),
    pairs: object<PairSpec>({ differentAttribute: { type: "string", nullable: true } }),
  }),
  model: object<Experiment["model"]>({
    generator: object<GeneratorSpec>({
      widths: { type: "array", items: int(1), minLength: 1 },
      resBlocks: int(0),
      edgeKernel: int(1),
      mergeKernel: int(1),
      batchNorm: object<GeneratorSpec["batchNorm"]>({
        decay: num({ min: 0 }),
        epsilon: num({ positive: true }),
      }),
    }),
    discriminator: object<DiscriminatorSpec>({
      widths: { type: "array", items: int(1), minLength: 1 },
      featureLayer: int(1),
      slope: num({ min: 0 }),
      advKernel: int(1),
    }),
  }),
  losses: object<LossSpec>({
    adversarial: { type: "string", values: ["wgan", "lsgan", "bce"] },
    critic: { type: "record", values: term },
    generator: { type: "record", values: term },
  }),
  optimizers: object<Experiment["optimizers"]>({ generator: optimizer, discriminator: optimizer }),
  trainer: object<TrainerSpec>({
    batchSize: int(1),
    epochs: int(1),
    itersPerEpoch: int(0),
    nCritic: int(1),
    seed: int(0),
    checkpointMinutes: num({ positive: true }),
    sampleEvery: int(0),
  }),
});

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Every key `--set` may assign in `value`: its dot paths, plus the optional
 * fields its objects leave out (e.g. `losses.generator.identity.until`).
 */
export function settableKeys(value: unknown): string[] {
  return walkKeys(value, EXPERIMENT_SCHEMA, "");
}

function walkKeys(value: unknown, schema: FieldSchema, prefix: string): string[] {
  const out: string[] = [];
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (Array.isArray(value) && schema.type === "array") {
    value.forEach((item, i) =>
      out.push(at(String(i)), ...walkKeys(item, schema.items, at(String(i))))
    );
  } else if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    let fields: Record<string, FieldSchema> = {};
    if (schema.type === "object") fields = schema.fields;
    else if (schema.type === "tagged") {
      fields = { [schema.tag]: str, ...schema.variants[String(record[schema.tag])] };
    } else if (schema.type === "record") {
      fields = Object.fromEntries(Object.keys(record).map((k) => [k, schema.values]));
    }
    for (const [key, sub] of Object.entries(fields)) {
      out.push(at(key));
      if (Object.hasOwn(record, key)) out.push(...walkKeys(record[key], sub, at(key)));
    }
  }
  return out;
}

/** Check `value` against `schema`; throws a TypeError or RangeError naming `path`. */
function checkField(value: unknown, schema: FieldSchema, path: string): void {
  const where = path || "experiment";
  const wrongKind = (expected: string) =>
    new TypeError(
      `Invalid experiment field '${where}': expected ${expected}, got ${
        value === null ? "null" : `${kindOf(value)} ${JSON.stringify(value)}`
      }`,
    );
  switch (schema.type) {
    case "number": {
      if (typeof value !== "number") throw wrongKind(schema.int ? "an integer" : "a number");
      if (!Number.isFinite(value)) {
        throw new RangeError(`Invalid experiment field '${where}': ${value} is not finite`);
      }
      if (schema.int && !Number.isInteger(value)) throw wrongKind("an integer");
      if (schema.min !== undefined && value < schema.min) {
        throw new RangeError(
          `Invalid experiment field '${where}': ${value} is below ${schema.min}`,
        );
      }
      if (schema.positive && value <= 0) {
        throw new RangeError(`Invalid experiment field '${where}': ${value} is not positive`);
      }
      return;
    }
    case "string": {
      if (value === null && schema.nullable) return;
      if (typeof value !== "string") {
        throw wrongKind(schema.nullable ? "a string or null" : "a string");
      }
      if (schema.values && !schema.values.includes(value)) {
        throw new RangeError(
          `Invalid experiment field '${where}': '${value}' is not one of ${
            schema.values.join(", ")
          }`,
        );
      }
      return;
    }
    case "boolean":
      if (typeof value !== "boolean") throw wrongKind("a boolean");
      return;
    case "array": {
      if (value === null && schema.nullable) return;
      if (!Array.isArray(value)) throw wrongKind(schema.nullable ? "an array or null" : "an array");
      if (schema.minLength !== undefined && value.length < schema.minLength) {
        throw new RangeError(
          `Invalid experiment field '${where}': expected at least ${schema.minLength} items, got ${value.length}`,
        );
      }
      value.forEach((item, i) => checkField(item, schema.items, `${path}.${i}`));
      return;
    }
    case "object":
    case "tagged": {
      if (kindOf(value) !== "object") throw wrongKind("an object");
      const record = value as Record<string, unknown>;
      let fields: Record<string, FieldSchema>;
      if (schema.type === "tagged") {
        const tag = record[schema.tag];
        const names = Object.keys(schema.variants);
        const variant = typeof tag === "string" ? schema.variants[tag] : undefined;
        if (!variant) {
          throw new RangeError(
            `Invalid experiment field '${path}.${schema.tag}': expected one of ${
              names.join(", ")
            }, got ${JSON.stringify(tag)}`,
          );
        }
        fields = { [schema.tag]: str, ...variant };
      } else {
        fields = schema.fields;
      }
      for (const key of Object.keys(record)) {
        if (!Object.hasOwn(fields, key)) {
          throw new TypeError(
            `Invalid experiment field '${
              path ? `${path}.` : ""
            }${key}': unknown key, expected one of ${Object.keys(fields).join(", ")}`,
          );
        }
      }
      const optional = schema.type === "object" ? schema.optional ?? [] : [];
      for (const [key, sub] of Object.entries(fields)) {
        const at = path ? `${path}.${key}` : key;
        if (!Object.hasOwn(record, key) || record[key] === undefined) {
          if (optional.includes(key)) continue;
          throw new TypeError(`Invalid experiment field '${at}': missing`);
        }
        checkField(record[key], sub, at);
      }
      return;
    }
    case "record": {
      if (kindOf(value) !== "object") throw wrongKind("an object");
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        checkField(item, schema.values, path ? `${path}.${key}` : key);
      }
      return;
    }
  }
}

/**
 * Check that `value` is a complete, well-formed experiment and return it typed.
 *
 * @example
 * ```ts
 * import { validateExperiment } from "./validate.ts";
 * import base from "../../experiments/47c97768.ts";
 * validateExperiment(structuredClone(base));
 * ```
 */
export function validateExperiment(value: unknown): Experiment {
  checkField(value, EXPERIMENT_SCHEMA, "");
  const exp = value as Experiment;
  if (!(exp.data.split.heldOut < 1)) {
    throw new RangeError(
      `Invalid experiment field 'data.split.heldOut': ${exp.data.split.heldOut} is not below 1`,
    );
  }
  // The id names the run's folder (`runs/<id>/…`): one path component, never `..` or empty.
  const idProblem = pathNameProblem(exp.meta.id);
  if (idProblem) {
    throw new RangeError(
      `Invalid experiment field 'meta.id': ${JSON.stringify(exp.meta.id)}: ${idProblem}`,
    );
  }
  const d = exp.model.discriminator;
  if (d.featureLayer > d.widths.length) {
    throw new RangeError(
      `Invalid experiment field 'model.discriminator.featureLayer': ${d.featureLayer} exceeds the ${d.widths.length} convs`,
    );
  }
  for (const side of ["critic", "generator"] as const) {
    for (const [name, t] of Object.entries(exp.losses[side])) {
      if (t.from !== undefined && t.until !== undefined && t.until <= t.from) {
        throw new RangeError(
          `Invalid experiment field 'losses.${side}.${name}.until': ${t.until} is not after from (${t.from})`,
        );
      }
    }
  }
  const g = exp.model.generator;
  for (const key of ["edgeKernel", "mergeKernel"] as const) {
    if (g[key] % 2 !== 1) {
      throw new RangeError(
        `Invalid experiment field 'model.generator.${key}': ${g[key]} is not odd`,
      );
    }
  }
  if (d.advKernel % 2 !== 1) {
    throw new RangeError(
      `Invalid experiment field 'model.discriminator.advKernel': ${d.advKernel} is not odd`,
    );
  }
  return exp;
}
