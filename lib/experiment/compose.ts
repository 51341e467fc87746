/**
 * Composing experiments: derive one from another with {@linkcode extend}, and
 * remove a loss term explicitly with {@linkcode without}.
 *
 * @module
 */
import type { DeepPartial, Experiment } from "./types.ts";
import { EXPERIMENT_SCHEMA, type FieldSchema, validateExperiment } from "./validate.ts";

/** Whether a value is a plain object (not null, not an array): a node of an experiment's tree. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A deep copy of plain data (objects, arrays, primitives). */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

/** The schema of the field at a path, if the path leads into the schema. */
function schemaOf(parts: string[]): FieldSchema | undefined {
  let schema: FieldSchema | undefined = EXPERIMENT_SCHEMA;
  for (const part of parts) {
    if (schema?.type === "object") schema = schema.fields[part];
    else if (schema?.type === "record") schema = schema.values;
    else if (schema?.type === "array") schema = schema.items;
    else return undefined;
  }
  return schema;
}

function merge(target: Record<string, unknown>, changes: Record<string, unknown>, path: string[]) {
  for (const [key, change] of Object.entries(changes)) {
    if (change === undefined) continue;
    const at = [...path, key];
    const current = target[key];
    // A tagged union whose tag changes (a schedule's `kind`) is replaced, not merged.
    const schema = schemaOf(at);
    const retagged = schema?.type === "tagged" && isPlainObject(current) &&
      isPlainObject(change) && schema.tag in change && change[schema.tag] !== current[schema.tag];
    if (isPlainObject(current) && isPlainObject(change) && !retagged) {
      merge(current, change, at);
    } else {
      target[key] = clone(change);
    }
  }
}

/**
 * Derive an experiment from `base`: objects are merged key by key, arrays and
 * values are replaced, and so is a schedule whose `kind` changes (its fields
 * differ by kind; an optimizer's `kind` changes alone). Unless
 * `changes.meta.base` is given, the result's `meta.base` is `base.meta.id`.
 * The result is validated.
 *
 * Loss terms are records, so `extend` can add a term or change a weight;
 * removing one is {@linkcode without}'s job, so that a removal is explicit.
 *
 * @example Double the reconstruction weight
 * ```ts
 * import { extend } from "./compose.ts";
 * import base from "../../experiments/47c97768.ts";
 * const heavier = extend(base, {
 *   meta: { id: "recon20", title: "47c97768 with reconstruction ×20" },
 *   losses: { generator: { reconstruction: { weight: 20 } } },
 * });
 * console.assert(heavier.meta.base === "47c97768");
 * ```
 */
export function extend(base: Experiment, changes: DeepPartial<Experiment>): Experiment {
  const out = clone(base);
  const meta: Record<string, unknown> = { base: base.meta.id, ...(changes.meta ?? {}) };
  merge(out as unknown as Record<string, unknown>, { ...changes, meta }, []);
  return validateExperiment(out);
}

/** Options for {@linkcode without}. */
export interface WithoutOptions {
  /**
   * Further changes applied with {@linkcode extend} (typically `meta`: the new id and title).
   * @default {{}}
   */
  changes?: DeepPartial<Experiment>;
}

/**
 * Derive an experiment from `base` with one loss term removed. The term is
 * looked up among the generator's terms, then the critic's; an unknown name is
 * refused, listing the terms there are.
 *
 * @example The seed's ablation
 * ```ts
 * import { without } from "./compose.ts";
 * import base from "../../experiments/47c97768.ts";
 * const ablation = without(base, "identity", { changes: { meta: { id: "9ada9179" } } });
 * console.assert(!("identity" in ablation.losses.generator));
 * ```
 */
export function without(base: Experiment, term: string, options: WithoutOptions = {}): Experiment {
  const out = extend(base, options.changes ?? {});
  if (Object.hasOwn(out.losses.generator, term)) {
    delete out.losses.generator[term];
  } else if (Object.hasOwn(out.losses.critic, term)) {
    delete out.losses.critic[term];
  } else {
    const known = [
      ...Object.keys(out.losses.generator).map((t) => `generator.${t}`),
      ...Object.keys(out.losses.critic).map((t) => `critic.${t}`),
    ];
    throw new RangeError(
      `Cannot remove loss term '${term}' from '${base.meta.id}': it has ${known.join(", ")}`,
    );
  }
  return validateExperiment(out);
}
