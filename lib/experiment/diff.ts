/**
 * Differences between two experiments, by dot path.
 *
 * @module
 */
import { isPlainObject } from "./compose.ts";
import type { Experiment } from "./types.ts";

/** One difference between two experiments. */
export interface DiffEntry {
  /** Dot path of the differing value, e.g. `losses.generator.identity`. */
  path: string;
  /** Value in the first experiment; `undefined` when the path is absent there. */
  a: unknown;
  /** Value in the second experiment; `undefined` when the path is absent there. */
  b: unknown;
}

/** Options for {@linkcode diff}. */
export interface DiffOptions {
  /**
   * Also compare `meta` (id, title, base, note, tags), which never changes what a run computes.
   * @default {false}
   */
  includeMeta?: boolean;
}

function walk(a: unknown, b: unknown, path: string, out: DiffEntry[]): void {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) {
      const at = path ? `${path}.${key}` : key;
      const inA = Object.hasOwn(a, key), inB = Object.hasOwn(b, key);
      if (inA && inB) walk(a[key], b[key], at, out);
      else out.push({ path: at, a: inA ? a[key] : undefined, b: inB ? b[key] : undefined });
    }
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((item, i) => walk(item, b[i], `${path}.${i}`, out));
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, a, b });
}

/**
 * Every difference between `a` and `b`, by dot path, sorted by path. A subtree
 * present on one side only (such as a removed loss term) is one entry.
 *
 * @example The seed's ablation differs by one term
 * ```ts
 * import { diff } from "./diff.ts";
 * import base from "../../experiments/47c97768.ts";
 * import ablation from "../../experiments/9ada9179.ts";
 * const d = diff(base, ablation);
 * console.assert(d.length === 1 && d[0]!.path === "losses.generator.identity");
 * ```
 */
export function diff(a: Experiment, b: Experiment, options: DiffOptions = {}): DiffEntry[] {
  const out: DiffEntry[] = [];
  if (options.includeMeta) {
    walk(a, b, "", out);
  } else {
    const { meta: _ma, ...restA } = a;
    const { meta: _mb, ...restB } = b;
    walk(restA, restB, "", out);
  }
  return out;
}

function show(value: unknown): string {
  return value === undefined ? "(absent)" : JSON.stringify(value);
}

/**
 * Render a diff as lines `path: a -> b`, with `(absent)` for a missing side,
 * or `no differences`.
 *
 * @example
 * ```ts
 * import { formatDiff } from "./diff.ts";
 * console.assert(formatDiff([{ path: "trainer.seed", a: 1, b: 2 }]) === "trainer.seed: 1 -> 2");
 * ```
 */
export function formatDiff(entries: DiffEntry[]): string {
  if (entries.length === 0) return "no differences";
  return entries.map((e) => `${e.path}: ${show(e.a)} -> ${show(e.b)}`).join("\n");
}
