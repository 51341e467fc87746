/**
 * The ablation file the board's ablate page reads: `ablate.json` (or
 * `<name>.ablate.json`) anywhere in the runs directory. `deno task ablate`
 * (not yet written) is meant to produce it; until then this module is its
 * specification.
 *
 * ```json
 * {
 *   "format": "voxlab-ablate/1",
 *   "title": "9ada9179 (no identity loss) vs 47c97768",
 *   "base": "47c97768",
 *   "ablation": "9ada9179",
 *   "confidence": 0.95,
 *   "seeds": [
 *     { "seed": 0, "base": "47c97768/20261201-101500", "ablation": "9ada9179/20261201-101501" }
 *   ],
 *   "curves": [
 *     { "metric": "labelSensitivity", "seed": 0, "arm": "base", "points": [[50, 0.61], [100, 0.72]] }
 *   ],
 *   "differences": [
 *     { "metric": "labelSensitivity", "mean": -0.41, "low": -0.55, "high": -0.27, "n": 3 }
 *   ]
 * }
 * ```
 *
 * - `seeds[].base` / `seeds[].ablation`: the paired runs' directories, relative
 *   to the folder holding the file; the page draws their curves from the runs'
 *   own `metrics.jsonl` / `diagnostics.jsonl`. Either may be null.
 * - `curves` (optional): per-seed curves given inline, for runs not in the folder.
 * - `differences`: per metric, the mean paired difference ablation − base over
 *   the seeds with its confidence interval `[low, high]` at `confidence`; drawn
 *   as a forest plot.
 *
 * @module
 */

/** One seed's pair of runs. */
export interface AblationSeed {
  /** The seed. */
  seed: number;
  /** The base arm's run id, or null. */
  base: string | null;
  /** The ablated arm's run id, or null. */
  ablation: string | null;
}

/** A per-seed curve given inline. */
export interface AblationCurve {
  /** The metric: a `metrics.jsonl` term (`G.adversarial`) or a diagnostics field (`labelSensitivity`). */
  metric: string;
  /** The seed. */
  seed: number;
  /** Which arm. */
  arm: "base" | "ablation";
  /** `[iteration, value]` points. */
  points: [number, number][];
}

/** One row of the forest plot: a paired difference with its interval. */
export interface AblationDifference {
  /** The metric. */
  metric: string;
  /** Mean of ablation − base over the seeds. */
  mean: number;
  /** Lower end of the confidence interval. */
  low: number;
  /** Upper end of the confidence interval. */
  high: number;
  /** Number of seeds (pairs). */
  n: number;
}

/** A parsed `ablate.json`. */
export interface Ablation {
  /** Always `voxlab-ablate/1`. */
  format: "voxlab-ablate/1";
  /** A title for the page. */
  title: string;
  /** The base experiment's id. */
  base: string;
  /** The ablated experiment's id. */
  ablation: string;
  /** The intervals' confidence level. */
  confidence: number;
  /** The seeds' run pairs. */
  seeds: AblationSeed[];
  /** Inline curves. */
  curves: AblationCurve[];
  /** The paired differences. */
  differences: AblationDifference[];
}

const isNum = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/**
 * Check a parsed `ablate.json`.
 *
 * @throws {TypeError} naming the first field that is missing or of the wrong kind.
 * @example
 * ```ts
 * import { parseAblation } from "./ablate.ts";
 * const a = parseAblation({
 *   format: "voxlab-ablate/1", base: "a", ablation: "b",
 *   seeds: [{ seed: 0, base: "a/1", ablation: "b/1" }],
 *   differences: [{ metric: "labelSensitivity", mean: -0.4, low: -0.5, high: -0.3, n: 3 }],
 * });
 * console.assert(a.confidence === 0.95 && a.curves.length === 0);
 * ```
 */
export function parseAblation(value: unknown): Ablation {
  const fail = (what: string): never => {
    throw new TypeError(`Cannot read ablation: ${what}`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail("expected a JSON object");
  }
  const v = value as Record<string, unknown>;
  if (v.format !== "voxlab-ablate/1") {
    fail(`format must be "voxlab-ablate/1", got ${JSON.stringify(v.format)}`);
  }
  for (const k of ["base", "ablation"] as const) {
    if (typeof v[k] !== "string") fail(`'${k}' must be an experiment id (string)`);
  }
  const confidence = v.confidence ?? 0.95;
  if (!isNum(confidence) || confidence <= 0 || confidence >= 1) {
    fail("'confidence' must be a number between 0 and 1");
  }
  const list = (k: string): unknown[] => {
    const x = v[k] ?? [];
    return Array.isArray(x) ? x : fail(`'${k}' must be a list`);
  };
  const obj = (x: unknown, where: string) =>
    typeof x === "object" && x !== null
      ? x as Record<string, unknown>
      : fail(`${where} must be an object`);
  const runId = (x: unknown, where: string) =>
    x === null || x === undefined
      ? null
      : typeof x === "string"
      ? x
      : fail(`${where} must be a run id or null`);
  const seeds = list("seeds").map((s, i) => {
    const o = obj(s, `seeds[${i}]`);
    if (!isNum(o.seed)) fail(`seeds[${i}].seed must be a number`);
    return {
      seed: o.seed as number,
      base: runId(o.base, `seeds[${i}].base`),
      ablation: runId(o.ablation, `seeds[${i}].ablation`),
    };
  });
  const curves = list("curves").map((c, i) => {
    const o = obj(c, `curves[${i}]`);
    if (typeof o.metric !== "string") fail(`curves[${i}].metric must be a string`);
    if (!isNum(o.seed)) fail(`curves[${i}].seed must be a number`);
    if (o.arm !== "base" && o.arm !== "ablation") {
      fail(`curves[${i}].arm must be "base" or "ablation"`);
    }
    if (
      !Array.isArray(o.points) ||
      !o.points.every((p) => Array.isArray(p) && p.length === 2 && p.every(isNum))
    ) {
      fail(`curves[${i}].points must be a list of [iteration, value] number pairs`);
    }
    return o as unknown as AblationCurve;
  });
  const differences = list("differences").map((d, i) => {
    const o = obj(d, `differences[${i}]`);
    if (typeof o.metric !== "string") fail(`differences[${i}].metric must be a string`);
    for (const k of ["mean", "low", "high", "n"]) {
      if (!isNum(o[k])) fail(`differences[${i}].${k} must be a number`);
    }
    if ((o.low as number) > (o.high as number)) fail(`differences[${i}]: low is above high`);
    return {
      metric: o.metric,
      mean: o.mean,
      low: o.low,
      high: o.high,
      n: o.n,
    } as AblationDifference;
  });
  return {
    format: "voxlab-ablate/1",
    title: typeof v.title === "string" ? v.title : `${v.ablation} vs ${v.base}`,
    base: v.base as string,
    ablation: v.ablation as string,
    confidence: confidence as number,
    seeds,
    curves,
    differences,
  };
}
