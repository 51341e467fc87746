/**
 * `--set key=value` overrides: dot paths into an experiment, parsed by the
 * type of the field they set. An unknown key is refused, naming the nearest
 * valid key.
 *
 * @module
 */
import { YAML } from "../deps.ts";
import { clone, isPlainObject } from "./compose.ts";
import type { Experiment } from "./types.ts";
import {
  EXPERIMENT_SCHEMA,
  type FieldSchema,
  settableKeys,
  validateExperiment,
} from "./validate.ts";

/** A `--set` override that cannot be applied; the message is one line for the user. */
export class OverrideError extends Error {
  /** The error class name. */
  override name = "OverrideError";
}

/** Every dot path in `value` (inner nodes and leaves), in document order. */
export function dotPaths(value: unknown, prefix = ""): string[] {
  const out: string[] = [];
  const entries: [string, unknown][] = isPlainObject(value)
    ? Object.entries(value)
    : Array.isArray(value)
    ? value.map((v, i) => [String(i), v])
    : [];
  for (const [key, sub] of entries) {
    const at = prefix ? `${prefix}.${key}` : key;
    out.push(at, ...dotPaths(sub, at));
  }
  return out;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/**
 * The valid key closest to `key`: the smallest case-insensitive edit distance
 * over the whole dot path plus that over the last segment (so a right field
 * name under a mistyped parent is preferred); ties go to the earlier path.
 *
 * @example
 * ```ts
 * import { nearestKey } from "./overrides.ts";
 * console.assert(nearestKey("trainer.batchsize", ["trainer.batchSize", "trainer.seed"]) === "trainer.batchSize");
 * ```
 */
export function nearestKey(key: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  const k = key.toLowerCase();
  for (const c of candidates) {
    const lc = c.toLowerCase();
    const score = levenshtein(k, lc) + levenshtein(k.split(".").at(-1)!, lc.split(".").at(-1)!);
    if (score < bestScore) [best, bestScore] = [c, score];
  }
  return best;
}

function schemaAt(exp: Experiment, parts: string[]): FieldSchema {
  let schema = EXPERIMENT_SCHEMA;
  let value: unknown = exp;
  for (const part of parts) {
    value = (value as Record<string, unknown>)[part];
    if (schema.type === "object") schema = schema.fields[part]!;
    else if (schema.type === "record") schema = schema.values;
    else if (schema.type === "array") schema = schema.items;
    else if (schema.type === "tagged") {
      const parent = schema;
      schema = part === parent.tag ? { type: "string", values: Object.keys(parent.variants) } : {
        type: "number",
      };
    }
  }
  return schema;
}

function parseValue(raw: string, schema: FieldSchema, key: string): unknown {
  switch (schema.type) {
    case "number": {
      const n = Number(raw);
      if (raw.trim() === "" || Number.isNaN(n)) {
        throw new OverrideError(
          `Cannot set '${key}': expected ${schema.int ? "an integer" : "a number"}, got '${raw}'`,
        );
      }
      return n;
    }
    case "boolean":
      if (raw !== "true" && raw !== "false") {
        throw new OverrideError(`Cannot set '${key}': expected true or false, got '${raw}'`);
      }
      return raw === "true";
    case "string":
      return schema.nullable && raw === "null" ? null : raw;
    default:
      try {
        return YAML.parse(raw);
      } catch (e) {
        throw new OverrideError(
          `Cannot set '${key}': the value is not valid YAML (${
            (e as Error).message.split("\n")[0]
          })`,
        );
      }
  }
}

/**
 * A loss term that the experiment does not have (e.g. the identity term that
 * 9ada9179 removed with `without()`) is added back by setting its weight:
 * `losses.generator.identity.weight=5`, or the whole term,
 * `losses.generator.identity={weight: 5, until: 10000}`. Returns the
 * experiment with the term added as `{ weight: 0 }` (the assignment then sets
 * it), or `null` when `key` is not such a key (or is within two edits of a
 * term the experiment has: a typo, answered with the nearest valid key).
 *
 * @throws {OverrideError} for another field of an absent term, saying how to add it.
 */
function addTerm(exp: Experiment, key: string): Experiment | null {
  const m = key.match(/^losses\.(generator|critic)\.([A-Za-z]\w*)(?:\.(\w+))?$/);
  if (!m) return null;
  const [, side, name, field] = m as unknown as [string, "generator" | "critic", string, string?];
  if (Object.hasOwn(exp.losses[side], name)) return null;
  // A near miss of a term it has is a typo, answered with the nearest key.
  if (Object.keys(exp.losses[side]).some((t) => levenshtein(t, name) <= 2)) return null;
  if (field !== undefined && field !== "weight") {
    throw new OverrideError(
      `Cannot set '${key}': the term '${name}' is absent in this experiment; add it first ` +
        `with --set losses.${side}.${name}.weight=<weight> (or --set 'losses.${side}.${name}=` +
        `{weight: <weight>, ${field}: …}')`,
    );
  }
  const out = clone(exp);
  out.losses[side][name] = { weight: 0 };
  return out;
}

/**
 * Apply `key=value` assignments to a copy of `exp` and validate the result.
 * Setting the weight of a loss term the experiment lacks adds the term
 * (`losses.generator.identity.weight=5` on 9ada9179 gives back 47c97768's
 * losses); the term's name is checked when training builds its terms.
 * The key is a dot path that exists (or an optional field such as
 * `losses.generator.identity.until`); the value is parsed by the
 * field's type (numbers, `true`/`false`, strings, `null` where allowed, YAML
 * for arrays and objects).
 *
 * @example Small shapes for a quick run
 * ```ts
 * import { applyOverrides } from "./overrides.ts";
 * import base from "../../experiments/47c97768.ts";
 * const small = applyOverrides(base, ["trainer.batchSize=1", "model.generator.widths=[4, 8, 8, 8]"]);
 * console.assert(small.trainer.batchSize === 1);
 * ```
 */
export function applyOverrides(exp: Experiment, assignments: readonly string[]): Experiment {
  let out = clone(exp);
  for (const assignment of assignments) {
    const eq = assignment.indexOf("=");
    if (eq <= 0) {
      throw new OverrideError(`Cannot apply --set '${assignment}': expected key=value`);
    }
    const key = assignment.slice(0, eq).trim();
    const raw = assignment.slice(eq + 1).trim();
    const added = addTerm(out, key);
    if (added) out = added;
    const valid = settableKeys(out);
    if (!valid.includes(key)) {
      const near = nearestKey(key, valid);
      throw new OverrideError(
        `Cannot set '${key}': unknown key${near ? `; the nearest valid key is '${near}'` : ""}`,
      );
    }
    const parts = key.split(".");
    const value = parseValue(raw, schemaAt(out, parts), key);
    let parent = out as unknown as Record<string, unknown>;
    for (const part of parts.slice(0, -1)) parent = parent[part] as Record<string, unknown>;
    parent[parts.at(-1)!] = value;
    // A new schedule kind drops the fields only the old kind had.
    const union = schemaAt(out, parts.slice(0, -1));
    const retag = union.type === "tagged" && parts.at(-1) === union.tag;
    if (retag && typeof value === "string") {
      const fields = union.variants[value];
      for (const k of Object.keys(parent)) {
        if (fields && k !== union.tag && !(k in fields)) delete parent[k];
      }
    }
    try {
      out = validateExperiment(out);
    } catch (e) {
      const whole = parts.slice(0, -1).join(".");
      throw new OverrideError(
        `Cannot set '${key}' to '${raw}': ${(e as Error).message}` +
          (retag
            ? `; set all its fields at once, e.g. --set '${whole}={${union.tag}: ${raw}, …}'`
            : ""),
      );
    }
  }
  return out;
}
