/**
 * A one-line progress display for training: epoch, iteration, each loss
 * term, iterations per second and the estimated time left.
 *
 * On a terminal the line is redrawn in place; otherwise (a log file, CI) a
 * full line is printed at most every `intervalMs`, and always for the first
 * iteration, so progress shows as soon as the first iteration ends.
 *
 * @module
 */
import { ProgressLine, stderrOutput } from "../progress.ts";

/** What the progress line shows for one iteration. */
export interface ProgressState {
  /** Iterations done so far (1-based after the first). */
  iteration: number;
  /** The current epoch (1-based). */
  epoch: number;
  /** Loss terms by name (e.g. `D.gradientPenalty`, `G.reconstruction`). */
  terms: Record<string, number>;
}

/** Options for {@linkcode ProgressBar}. */
export interface ProgressBarOptions {
  /** Total iterations of the run (the budget); used for the bar and the ETA. */
  totalIterations: number;
  /** Total epochs of the run. */
  totalEpochs: number;
  /**
   * Where text goes.
   * @default {writes to stderr}
   */
  write?: (text: string) => void;
  /**
   * Redraw one line in place (a terminal) instead of printing lines.
   * @default {Deno.stderr.isTerminal()}
   */
  inPlace?: boolean;
  /**
   * Width a redrawn line is cut to, so that it never wraps (a wrapped line
   * cannot be redrawn in place).
   * @default {the terminal's width, else 160}
   */
  columns?: number;
  /**
   * Minimum milliseconds between printed lines when not redrawing in place.
   * @default {10000}
   */
  intervalMs?: number;
  /**
   * The clock, in milliseconds.
   * @default {performance.now}
   */
  now?: () => number;
}

/**
 * A duration as `45s`, `12m05s`, `3h07m` or `2d04h`.
 *
 * @example
 * ```ts
 * import { formatDuration } from "./progress.ts";
 * console.assert(formatDuration(3725) === "1h02m");
 * ```
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d${pad(Math.floor((s % 86400) / 3600))}h`;
}

/** A loss value in 4 significant digits, exponent form when tiny or huge. */
function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e4) ? v.toExponential(2) : v.toPrecision(4);
}

/**
 * Terms in the order that matters when a line is cut: the weighted totals
 * (`G.total`, `D.total`), then the generator's terms, then the critic's,
 * then anything else, each group in its given order.
 *
 * @example
 * ```ts
 * import { orderTerms } from "./progress.ts";
 * const order = orderTerms(["D.adversarial", "D.total", "G.adversarial", "G.total"]);
 * console.assert(order.join() === "G.total,D.total,G.adversarial,D.adversarial");
 * ```
 */
export function orderTerms(names: readonly string[]): string[] {
  const rank = (k: string) =>
    k === "G.total" ? 0 : k === "D.total" ? 1 : k.startsWith("G.") ? 2 : k.startsWith("D.") ? 3 : 4;
  return names.map((k, i) => [k, i] as const)
    .sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1])
    .map(([k]) => k);
}

/**
 * Render one progress line.
 *
 * @example
 * ```ts
 * import { formatProgress } from "./progress.ts";
 * const line = formatProgress({ iteration: 5, epoch: 1, terms: { "G.adversarial": -0.5 } }, {
 *   totalIterations: 10, totalEpochs: 2, rate: 0.5,
 * });
 * console.assert(line.includes("it 5/10 | 0.50 it/s | ETA 10s | G.adversarial -0.5000"));
 * ```
 */
export function formatProgress(
  state: ProgressState,
  info: { totalIterations: number; totalEpochs: number; rate: number },
): string {
  const { totalIterations: total, rate } = info;
  const frac = total > 0 ? Math.min(1, state.iteration / total) : 0;
  const width = 20;
  const filled = Math.round(frac * width);
  const bar = "█".repeat(filled) + "░".repeat(width - filled);
  const terms = orderTerms(Object.keys(state.terms)).map((k) =>
    `${k} ${formatValue(state.terms[k]!)}`
  )
    .join(" ");
  const eta = rate > 0 ? formatDuration((total - state.iteration) / rate) : "?";
  const speed = rate >= 1 || rate === 0 ? rate.toFixed(2) : rate.toPrecision(2);
  // Speed and ETA come before the terms, so that cutting a long line keeps them.
  return `epoch ${state.epoch}/${info.totalEpochs} ${bar} it ${state.iteration}/${total}` +
    ` | ${speed} it/s | ETA ${eta}` + (terms ? ` | ${terms}` : "");
}

/**
 * The training progress display.
 *
 * @example
 * ```ts
 * import { ProgressBar } from "./progress.ts";
 * const lines: string[] = [];
 * const bar = new ProgressBar({ totalIterations: 3, totalEpochs: 1, inPlace: false, write: (t) => lines.push(t) });
 * bar.update({ iteration: 1, epoch: 1, terms: { "G.adversarial": 0.1 } });
 * bar.done();
 * console.assert(lines.length >= 1);
 * ```
 */
export class ProgressBar {
  #options: Required<ProgressBarOptions>;
  #line: ProgressLine;
  #start: number | null = null;
  #startIteration = 0;
  #lastPrint = -Infinity;
  #last: ProgressState | null = null;
  /** The state on screen: the last update's, or the start's before any. */
  #shown: ProgressState | null = null;
  #updates = 0;
  /** Smoothed seconds per iteration, from the second update on. */
  #ema: number | null = null;
  #lastUpdate: number | null = null;

  /** Create a display; nothing is written until the first {@linkcode ProgressBar.update}. */
  constructor(options: ProgressBarOptions) {
    const out = stderrOutput();
    this.#options = {
      write: out.write,
      inPlace: out.inPlace,
      columns: out.columns,
      intervalMs: 10000,
      now: () => performance.now(),
      ...options,
    };
    const { write, inPlace, columns } = this.#options;
    this.#line = new ProgressLine({ write, inPlace, columns });
  }

  #format(state: ProgressState): string {
    return formatProgress(state, { ...this.#options, rate: this.rate });
  }

  /**
   * Mark where timing starts (the iteration count before the first update)
   * and show that state at once, so that a slow first iteration is not a
   * silent one.
   */
  start(iteration: number, epoch = 1): void {
    this.#start = this.#options.now();
    this.#startIteration = iteration;
    this.#shown = { iteration, epoch, terms: {} };
    this.#line.show(formatProgress(this.#shown, { ...this.#options, rate: 0 }), true);
    this.#lastPrint = this.#options.now();
  }

  /**
   * Iterations per second, smoothed: an exponential moving average of the
   * seconds per iteration (weight 0.05 for each new one, about the last 20),
   * with the first iteration of this process (warm-up) left out once others
   * follow. The plain average since the start made the ETA of a full run
   * swing between 2 and 6 days as diagnostics and checkpoints came and went.
   */
  get rate(): number {
    if (this.#ema !== null) return this.#ema > 0 ? 1 / this.#ema : 0;
    return this.#meanRate;
  }

  /** Iterations per second since {@linkcode ProgressBar.start}. */
  get #meanRate(): number {
    if (this.#start === null || this.#last === null) return 0;
    const seconds = (this.#options.now() - this.#start) / 1000;
    const done = this.#last.iteration - this.#startIteration;
    return seconds > 0 ? done / seconds : 0;
  }

  /** Show the state after an iteration. */
  update(state: ProgressState): void {
    if (this.#start === null) this.start(state.iteration - 1, state.epoch);
    const now = this.#options.now();
    const steps = state.iteration - (this.#last?.iteration ?? state.iteration);
    if (this.#lastUpdate !== null && steps > 0) {
      const per = (now - this.#lastUpdate) / 1000 / steps;
      this.#ema = this.#ema === null ? per : 0.95 * this.#ema + 0.05 * per;
    }
    this.#lastUpdate = now;
    this.#last = this.#shown = state;
    this.#updates++;
    const print = this.#updates === 1 || now - this.#lastPrint >= this.#options.intervalMs;
    if (print && !this.#line.inPlace) this.#lastPrint = now;
    this.#line.show(this.#format(state), print);
  }

  /** Print a message on its own line without losing the progress line. */
  message(text: string): void {
    this.#line.message(text);
  }

  /** Finish: print the last state if it was not shown, and end the line. */
  done(): void {
    this.#line.end(this.#last ? this.#format(this.#last) : undefined);
  }
}
