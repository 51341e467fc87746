/**
 * The progress display: one status line that is redrawn in place on a
 * terminal (cut to its width, so it never wraps) and printed as whole lines
 * elsewhere (a log file, CI), with messages written above it. The file
 * progress of data preparation (`data/progress.ts`) and the training line
 * (`train/progress.ts`) are two formats drawn by this one display.
 *
 * @module
 */

/** Where a progress display writes. */
export interface ProgressOutput {
  /** Write text as it is. */
  write(text: string): void;
  /** Redraw one line in place (a terminal) instead of printing lines. */
  inPlace: boolean;
  /** Width a redrawn line is cut to. */
  columns: number;
}

/** The terminal's width, else 160. */
export function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 160;
  }
}

/** stderr as a progress output: in place when it is a terminal. */
export function stderrOutput(): ProgressOutput {
  return {
    write: (t) => void Deno.stderr.writeSync(new TextEncoder().encode(t)),
    inPlace: Deno.stderr.isTerminal(),
    columns: terminalColumns(),
  };
}

/**
 * One progress line.
 *
 * @example Printed as lines when not on a terminal
 * ```ts
 * import { ProgressLine } from "./progress.ts";
 * const lines: string[] = [];
 * const line = new ProgressLine({ write: (t) => lines.push(t), inPlace: false, columns: 80 });
 * line.show("1/2", true);
 * line.show("2/2", false);
 * line.end();
 * console.assert(lines.join("") === "1/2\n2/2\n");
 * ```
 */
export class ProgressLine {
  readonly #out: ProgressOutput;
  #shown: string | null = null;
  #printed = true;

  /** A display writing to `output`. */
  constructor(output: ProgressOutput) {
    this.#out = output;
  }

  /** Whether the line is redrawn in place. */
  get inPlace(): boolean {
    return this.#out.inPlace;
  }

  /** Clear the line and draw `line`, cut to the width. */
  #redraw(line: string): string {
    const max = Math.max(20, this.#out.columns - 1);
    const chars = [...line];
    return `\r\x1b[2K${chars.length > max ? chars.slice(0, max - 1).join("") + "…" : line}`;
  }

  /**
   * Show `line`: redrawn in place on a terminal; otherwise printed as a
   * whole line when `print`, else kept for {@linkcode ProgressLine.end}.
   */
  show(line: string, print: boolean): void {
    this.#shown = line;
    if (this.#out.inPlace) {
      this.#out.write(this.#redraw(line));
      this.#printed = true;
    } else if (print) {
      this.#out.write(`${line}\n`);
      this.#printed = true;
    } else {
      this.#printed = false;
    }
  }

  /** Print a message on its own line without losing the progress line. */
  message(text: string): void {
    const shown = this.#shown;
    if (this.#out.inPlace && shown !== null) {
      this.#out.write(`\r\x1b[2K${text}\n`);
      this.#out.write(this.#redraw(shown));
    } else {
      this.#out.write(`${text}\n`);
    }
  }

  /**
   * Finish: end the line on a terminal; elsewhere print the last line if it
   * was not printed (as `last`, when given: e.g. with the final rate).
   */
  end(last?: string): void {
    if (this.#out.inPlace) {
      if (this.#shown !== null) this.#out.write("\n");
      // The line is finished: later messages (the final diagnostics) go below
      // it without drawing it again, so the run's last words do not run into it.
      this.#shown = null;
    } else if (this.#shown !== null && !this.#printed) {
      this.#out.write(`${last ?? this.#shown}\n`);
      this.#printed = true;
    }
  }
}
