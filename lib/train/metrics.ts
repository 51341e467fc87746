/**
 * `metrics.jsonl`: one JSON line per training iteration with every loss term,
 * the learning rates and the time.
 *
 * @module
 */
import { JsonlWriter, readJsonl, trimJsonl } from "../jsonl.ts";
import type { GanStepResult } from "./step.ts";

/** One line of `metrics.jsonl`. */
export interface MetricsRecord {
  /** Iteration number, 1-based. */
  iteration: number;
  /** Epoch number, 1-based. */
  epoch: number;
  /** Loss terms by name, e.g. `D.adversarial`, `G.reconstruction` (unweighted), and the weighted `D.total` / `G.total`. */
  terms: Record<string, number>;
  /** Learning rates by optimizer (`generator`, `discriminator`). */
  lr: Record<string, number>;
  /** Seconds this iteration took. */
  seconds: number;
  /** Seconds of training since the run began (across resumes). */
  elapsed: number;
  /** Wall-clock time the iteration ended, ISO 8601. */
  time: string;
}

/**
 * Per-iteration values: `D.<term>` is the mean over the critic updates,
 * `G.<term>` the generator update's value (both unweighted), and `D.total` /
 * `G.total` the weighted sums that were minimised.
 */
export function reportTerms(result: GanStepResult): Record<string, number> {
  const terms: Record<string, number> = {};
  const n = result.critic.length;
  if (n > 0) {
    for (const name of Object.keys(result.critic[0]!.values)) {
      terms[`D.${name}`] = result.critic.reduce((s, r) => s + (r.values[name] ?? NaN), 0) / n;
    }
    terms["D.total"] = result.critic.reduce((s, r) => s + r.total, 0) / n;
  }
  for (const [name, v] of Object.entries(result.generator.values)) terms[`G.${name}`] = v;
  terms["G.total"] = result.generator.total;
  return terms;
}

/**
 * Appends records to a `metrics.jsonl` file, one line each, flushed per line
 * so that a killed run keeps every finished iteration.
 *
 * @example
 * ```ts
 * import { MetricsWriter, readMetrics } from "./metrics.ts";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const w = new MetricsWriter(path);
 * w.append({ iteration: 1, epoch: 1, terms: { "G.adversarial": 0.5 }, lr: { generator: 1e-5 }, seconds: 1, elapsed: 1, time: new Date().toISOString() });
 * w.close();
 * console.assert((await readMetrics(path)).length === 1);
 * ```
 */
export class MetricsWriter extends JsonlWriter<MetricsRecord> {}

/**
 * Read every record of a `metrics.jsonl`. A last line cut short by a crash is
 * ignored; any other malformed line is an error naming its line number.
 */
export async function readMetrics(path: string): Promise<MetricsRecord[]> {
  return await readJsonl<MetricsRecord>(path, "metrics");
}

/**
 * Keep only records up to `iteration` (inclusive), rewriting the file. A
 * resumed run calls it so that iterations after the checkpoint, which it
 * recomputes, are not listed twice.
 */
export async function truncateMetrics(path: string, iteration: number): Promise<void> {
  await trimJsonl<MetricsRecord>(path, "metrics", (r) => r.iteration <= iteration);
}
