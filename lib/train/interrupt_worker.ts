/**
 * The worker half of `listenForInterrupts` (`interrupt.ts`):
 * it owns the process's SIGINT and SIGTERM listeners, so that a signal is
 * seen the moment it arrives even while the main thread is busy in an
 * iteration.
 *
 * Shared state: an `Int32Array` over a `SharedArrayBuffer`, written by both
 * threads with `Atomics` (slots in `Slot`).
 *
 * @module
 */
import { type InterruptInit, Slot } from "./interrupt.ts";

/** The worker's global scope, as far as this file uses it. */
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<InterruptInit>) => void) | null;
  postMessage(message: unknown): void;
};

const NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
type Name = keyof typeof NUMBERS;

scope.onmessage = (event) => {
  const { buffer, graceMs, terminal } = event.data;
  const state = new Int32Array(buffer);
  const encoder = new TextEncoder();
  const say = (text: string) =>
    Deno.stderr.writeSync(encoder.encode(`${terminal ? "\r\x1b[2K" : ""}voxlab: ${text}\n`));
  let first: number | null = null;
  const listeners: [Name, () => void][] = [];
  const handle = (name: Name) => {
    const now = performance.now();
    if (first === null) {
      first = now;
      Atomics.store(state, Slot.stop, NUMBERS[name]);
      const iteration = Atomics.load(state, Slot.iteration);
      const again = name === "SIGINT" ? "; Ctrl-C again quits without saving" : "";
      say(`stopping: finishing iteration ${iteration}…, then a checkpoint${again}`);
      return;
    }
    // A copy of the first signal (`deno task` forwards the terminal's
    // SIGINT to its child, which the terminal has signalled already), or
    // a press too quick to be a decision: the stop is under way.
    if (now - first < graceMs) return;
    if (Atomics.load(state, Slot.protected) === 1) {
      Atomics.store(state, Slot.quitPending, NUMBERS[name]);
      say("writing the checkpoint; quitting as soon as it is on disk");
      return;
    }
    say("quitting without saving; the last checkpoint on disk is kept");
    // With no listener left the signal's default action applies again:
    // the process ends as killed by it (exit status 128 + the signal).
    for (const [n, f] of listeners) Deno.removeSignalListener(n, f);
    Deno.kill(Deno.pid, name);
  };
  for (const name of ["SIGINT", "SIGTERM"] as const) {
    const f = () => handle(name);
    try {
      Deno.addSignalListener(name, f);
      listeners.push([name, f]);
    } catch {
      // Not every platform has every signal (Windows has no SIGTERM listener).
    }
  }
  scope.postMessage("ready");
};
