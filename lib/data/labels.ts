/**
 * Label schemas: the attributes of an utterance (speaker, gender, accent, …)
 * and their encodings as the generator's input labels and the
 * discriminator's output labels.
 *
 * - Input labels (`c`, length `nIn`): the concatenation over all attributes
 *   of a multi-hot {0,1} vector; an unknown value gives all zeros.
 * - Output labels (`y`, length `nOut`): the concatenation over the
 *   *classified* attributes only, 1 for the value, 0 for the other values,
 *   and -1 everywhere in the attribute when the value is unknown (the
 *   classification loss ignores -1). Condition-only attributes do not appear.
 *
 * @module
 */

/** One attribute of a schema. */
export interface AttributeSpec {
  /** Attribute name, e.g. `speaker`. */
  name: string;
  /** Its possible values, in encoding order. */
  values: readonly string[];
  /**
   * Whether the discriminator classifies it (part of the output labels);
   * `false` makes it condition-only (generator input only).
   * @default {true}
   */
  classified?: boolean;
}

/**
 * An utterance's attribute values: a value, several values (multi-hot), or
 * `null`/absent for unknown.
 */
export type LabelValues = Record<string, string | readonly string[] | null | undefined>;

/** Sizes and layout returned by {@linkcode LabelSchema.describe}. */
export interface SchemaDescription {
  /** Input label count (all attributes). */
  nIn: number;
  /** Output label count (classified attributes). */
  nOut: number;
  /** Each attribute with its value count and offsets (`outOffset` is -1 when condition-only). */
  attributes: {
    name: string;
    size: number;
    classified: boolean;
    inOffset: number;
    outOffset: number;
  }[];
}

/** Labels that do not fit a schema; the message names the attribute and the value. */
export class LabelError extends Error {
  /** The class name, shown before the message in a stack trace. */
  override name = "LabelError";
}

interface Layout {
  name: string;
  values: readonly string[];
  index: Map<string, number>;
  classified: boolean;
  inOffset: number;
  outOffset: number;
}

/**
 * A set of attributes and their encodings.
 *
 * @example Encode and decode
 * ```ts
 * import { LabelSchema } from "./labels.ts";
 * const schema = new LabelSchema([
 *   { name: "speaker", values: ["p225", "p226"] },
 *   { name: "gender", values: ["F", "M"] },
 *   { name: "mic", values: ["mic1", "mic2"], classified: false },
 * ]);
 * console.assert(schema.nIn === 6 && schema.nOut === 4);
 * const c = schema.encodeInput({ speaker: "p226", gender: null, mic: "mic1" }); // [0,1, 0,0, 1,0]
 * const y = schema.encodeOutput({ speaker: "p226", gender: null });             // [0,1, -1,-1]
 * console.assert(schema.decodeOutput(y).speaker === "p226" && schema.decodeInput(c).gender === null);
 * ```
 */
export class LabelSchema {
  /** The attributes, in encoding order. */
  readonly attributes: readonly Required<AttributeSpec>[];
  /** Input label count. */
  readonly nIn: number;
  /** Output label count. */
  readonly nOut: number;
  #layout: Layout[];

  /**
   * Build a schema.
   *
   * @throws {LabelError} for duplicate attribute names or duplicate values.
   */
  constructor(attributes: readonly AttributeSpec[]) {
    const seen = new Set<string>();
    let nIn = 0, nOut = 0;
    this.#layout = attributes.map((a) => {
      if (typeof a.name !== "string" || a.name === "") {
        throw new LabelError("Cannot build label schema: an attribute has no name");
      }
      if (seen.has(a.name)) {
        throw new LabelError(`Cannot build label schema: attribute '${a.name}' appears twice`);
      }
      seen.add(a.name);
      if (!Array.isArray(a.values) || a.values.length === 0) {
        throw new LabelError(`Cannot build label schema: attribute '${a.name}' has no values`);
      }
      const index = new Map<string, number>();
      a.values.forEach((v, i) => {
        if (index.has(v)) {
          throw new LabelError(
            `Cannot build label schema: attribute '${a.name}' lists value '${v}' twice`,
          );
        }
        index.set(v, i);
      });
      const classified = a.classified ?? true;
      const layout: Layout = {
        name: a.name,
        values: [...a.values],
        index,
        classified,
        inOffset: nIn,
        outOffset: classified ? nOut : -1,
      };
      nIn += a.values.length;
      if (classified) nOut += a.values.length;
      return layout;
    });
    this.nIn = nIn;
    this.nOut = nOut;
    this.attributes = this.#layout.map((l) => ({
      name: l.name,
      values: l.values,
      classified: l.classified,
    }));
  }

  /**
   * Infer a schema from example values: each attribute's values sorted.
   *
   * @example
   * ```ts
   * import { LabelSchema } from "./labels.ts";
   * const s = LabelSchema.infer([{ speaker: "b", gender: "F" }, { speaker: "a", gender: null }]);
   * console.assert(s.attributes[0]!.values.join() === "a,b" && s.nIn === 3);
   * ```
   */
  static infer(
    rows: readonly LabelValues[],
    options: { conditionOnly?: readonly string[]; order?: readonly string[] } = {},
  ): LabelSchema {
    const values = new Map<string, Set<string>>();
    for (const name of options.order ?? []) values.set(name, new Set());
    for (const row of rows) {
      for (const [name, v] of Object.entries(row)) {
        if (!values.has(name)) values.set(name, new Set());
        const set = values.get(name)!;
        if (typeof v === "string") set.add(v);
        else if (Array.isArray(v)) v.forEach((x) => set.add(x));
      }
    }
    const conditionOnly = new Set(options.conditionOnly ?? []);
    const attrs: AttributeSpec[] = [];
    for (const [name, set] of values) {
      if (set.size === 0) continue;
      attrs.push({
        name,
        values: [...set].sort((a, b) => a.localeCompare(b, "en", { numeric: true })),
        classified: !conditionOnly.has(name),
      });
    }
    return new LabelSchema(attrs);
  }

  /** Rebuild a schema from {@linkcode LabelSchema.toJSON} output. */
  static fromJSON(json: { attributes: AttributeSpec[] }): LabelSchema {
    return new LabelSchema(json.attributes);
  }

  /** A plain object that {@linkcode LabelSchema.fromJSON} accepts. */
  toJSON(): { attributes: Required<AttributeSpec>[] } {
    return { attributes: this.attributes.map((a) => ({ ...a, values: [...a.values] })) };
  }

  /** Sizes and offsets of the encodings. */
  describe(): SchemaDescription {
    return {
      nIn: this.nIn,
      nOut: this.nOut,
      attributes: this.#layout.map((l) => ({
        name: l.name,
        size: l.values.length,
        classified: l.classified,
        inOffset: l.inOffset,
        outOffset: l.outOffset,
      })),
    };
  }

  /**
   * Check values against the schema: every named attribute exists, every
   * value is one of its values.
   *
   * @throws {LabelError} naming the attribute and the value.
   */
  validate(values: LabelValues): void {
    for (const [name, v] of Object.entries(values)) {
      const l = this.#layout.find((x) => x.name === name);
      if (!l) {
        throw new LabelError(
          `Cannot encode labels: unknown attribute '${name}' (schema has ${
            this.#layout.map((x) => x.name).join(", ")
          })`,
        );
      }
      this.#indices(l, v);
    }
  }

  #indices(l: Layout, v: LabelValues[string]): number[] {
    if (v === null || v === undefined) return [];
    const list = typeof v === "string" ? [v] : v;
    if (!Array.isArray(list)) {
      throw new LabelError(
        `Cannot encode labels: attribute '${l.name}' has a value of type ${typeof v}`,
      );
    }
    return list.map((x) => {
      const i = l.index.get(x);
      if (i === undefined) {
        throw new LabelError(
          `Cannot encode labels: unknown value '${x}' for attribute '${l.name}'`,
        );
      }
      return i;
    });
  }

  /** Input labels: multi-hot {0,1} per attribute, all zeros when unknown. */
  encodeInput(values: LabelValues): Float32Array {
    this.validate(values);
    const out = new Float32Array(this.nIn);
    for (const l of this.#layout) {
      for (const i of this.#indices(l, values[l.name])) out[l.inOffset + i] = 1;
    }
    return out;
  }

  /** Output labels: {1 for the value, 0 otherwise} per classified attribute, all -1 when unknown. */
  encodeOutput(values: LabelValues): Float32Array {
    this.validate(values);
    const out = new Float32Array(this.nOut);
    for (const l of this.#layout) {
      if (!l.classified) continue;
      const idx = this.#indices(l, values[l.name]);
      if (idx.length === 0) out.fill(-1, l.outOffset, l.outOffset + l.values.length);
      for (const i of idx) out[l.outOffset + i] = 1;
    }
    return out;
  }

  #decode(
    vec: ArrayLike<number>,
    useOut: boolean,
    threshold: number,
  ): Record<string, string | null> {
    const out: Record<string, string | null> = {};
    for (const l of this.#layout) {
      const off = useOut ? l.outOffset : l.inOffset;
      if (off < 0) continue;
      let best = -1, bestV = -Infinity;
      for (let i = 0; i < l.values.length; i++) {
        const x = vec[off + i]!;
        if (x > bestV) {
          bestV = x;
          best = i;
        }
      }
      out[l.name] = bestV > threshold ? l.values[best]! : null;
    }
    return out;
  }

  /**
   * Decode input labels: per attribute, the value with the largest entry, or
   * `null` when all entries are <= 0.5 (unknown).
   */
  decodeInput(vec: ArrayLike<number>): Record<string, string | null> {
    if (vec.length !== this.nIn) {
      throw new RangeError(
        `Cannot decode input labels: expected length ${this.nIn}, got ${vec.length}`,
      );
    }
    return this.#decode(vec, false, 0.5);
  }

  /**
   * Decode output labels: per classified attribute, the value with the
   * largest entry, or `null` when no entry is above 0 (all -1 = unknown).
   * Classifier logits decode the same way: a positive logit means p > 0.5.
   */
  decodeOutput(vec: ArrayLike<number>): Record<string, string | null> {
    if (vec.length !== this.nOut) {
      throw new RangeError(
        `Cannot decode output labels: expected length ${this.nOut}, got ${vec.length}`,
      );
    }
    return this.#decode(vec, true, 0);
  }
}
