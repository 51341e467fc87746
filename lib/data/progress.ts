/**
 * File progress (data preparation, conversion): count, rate and ETA, drawn by
 * the one progress display (`lib/progress.ts`) on stderr.
 *
 * On a terminal it redraws in place; otherwise it prints a line at every
 * 10% so logs stay short.
 *
 * @module
 */
import { ProgressLine, terminalColumns } from "../progress.ts";

/** Options for {@linkcode Progress}. */
export interface ProgressOptions {
  /**
   * Show nothing when the total is at most this many items.
   * @default {8}
   */
  minItems?: number;
  /**
   * Unit shown after the rate.
   * @default {"files"}
   */
  unit?: string;
  /**
   * Where to write; `null` disables output.
   * @default {Deno.stderr}
   */
  output?: { writeSync(p: Uint8Array): number; isTerminal(): boolean } | null;
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return "--:--";
  const m = Math.floor(s / 60), sec = Math.round(s % 60);
  return `${String(m).padStart(2, "0")}:${String(sec).padStart(2, "0")}`;
}

/**
 * A progress bar for `total` items.
 *
 * @example
 * ```ts
 * import { Progress } from "./progress.ts";
 * const bar = new Progress("prepare", 100, { output: null });
 * for (let i = 0; i < 100; i++) bar.tick();
 * bar.done();
 * console.assert(bar.count === 100);
 * ```
 */
export class Progress {
  /** Items completed so far. */
  count = 0;
  #label: string;
  #total: number;
  #start = performance.now();
  #last = 0;
  #lastDecile = -1;
  #unit: string;
  #display: ProgressLine | null;

  /** Start a bar labelled `label` for `total` items. */
  constructor(label: string, total: number, options: ProgressOptions = {}) {
    this.#label = label;
    this.#total = total;
    this.#unit = options.unit ?? "files";
    const out = options.output === undefined ? Deno.stderr : options.output;
    const enabled = out !== null && total > (options.minItems ?? 8);
    this.#display = enabled
      ? new ProgressLine({
        write: (t) => void out.writeSync(new TextEncoder().encode(t)),
        inPlace: out.isTerminal(),
        columns: terminalColumns(),
      })
      : null;
  }

  /** The current line: `label [=====>    ] 40/100  12.3 files/s  ETA 00:05`. */
  line(): string {
    const elapsed = (performance.now() - this.#start) / 1000;
    const rate = elapsed > 0 ? this.count / elapsed : 0;
    const eta = rate > 0 ? (this.#total - this.count) / rate : Infinity;
    const width = 24;
    const filled = this.#total > 0 ? Math.round((width * this.count) / this.#total) : width;
    const bar = "=".repeat(filled) + " ".repeat(width - filled);
    return `${this.#label} [${bar}] ${this.count}/${this.#total}  ${
      rate.toFixed(1)
    } ${this.#unit}/s  ETA ${formatSeconds(eta)}`;
  }

  /**
   * Record `n` more completed items and show the line if due: on a terminal
   * at most every 100 ms, elsewhere at every 10%.
   */
  tick(n = 1): void {
    this.count += n;
    const display = this.#display;
    if (!display) return;
    if (display.inPlace) {
      const now = performance.now();
      if (now - this.#last > 100 || this.count >= this.#total) {
        this.#last = now;
        display.show(this.line(), true);
      }
    } else {
      const decile = Math.floor((10 * this.count) / this.#total);
      if (decile > this.#lastDecile) {
        this.#lastDecile = decile;
        display.show(this.line(), true);
      }
    }
  }

  /** Finish the line. */
  done(): void {
    if (this.#display?.inPlace) this.#display.show(this.line(), true);
    this.#display?.end();
  }
}
