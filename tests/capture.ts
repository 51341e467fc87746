/**
 * Test helper: run a function with `console.log` and `console.error`
 * captured, e.g. to check what a task's `main` prints.
 *
 * @module
 */

/** What {@linkcode captured} returns: the function's value and what it printed. */
export interface Captured<T> {
  /** The function's (awaited) return value. */
  value: T;
  /** Everything written with `console.log`, one line per call. */
  out: string;
  /** Everything written with `console.error`, one line per call. */
  err: string;
}

/** Run `f` with console.log and console.error captured. */
export async function captured<T>(f: () => Promise<T>): Promise<Captured<T>> {
  const log = console.log, error = console.error;
  let out = "", err = "";
  console.log = (...a: unknown[]) => void (out += a.join(" ") + "\n");
  console.error = (...a: unknown[]) => void (err += a.join(" ") + "\n");
  try {
    return { value: await f(), out, err };
  } finally {
    console.log = log;
    console.error = error;
  }
}
