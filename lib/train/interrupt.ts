/**
 * Ctrl-C and SIGTERM for training: the first signal stops after the current
 * iteration with a checkpoint; only a second one that the user sent quits at
 * once.
 *
 * Two facts shape this:
 *
 * - One Ctrl-C can arrive as several SIGINTs. The terminal signals the whole
 *   foreground process group, and `deno task` also forwards the SIGINT it got
 *   to its child: a training process started by `deno task train` sees 2 or
 *   3 SIGINTs within a fraction of a millisecond (measured: +2981.4 ms and
 *   +2981.5 ms for one press). Counting each as a press turned one Ctrl-C
 *   into "quit at once" and lost runs. So signals within `graceMs` (1 s) of
 *   the first are taken as copies of it; a second press counts after that,
 *   when the "stopping" line is on screen.
 * - The main thread is busy for a whole iteration (seconds at full size), and
 *   a signal listener on it runs only between iterations: the stopping line
 *   came 10–20 s late, and copies that were queued while it was busy arrived
 *   together with a real second press, so timestamps taken there say little.
 *   The listeners therefore live in a small worker whose event loop is idle:
 *   it prints the stopping line at once, times each signal as it arrives and
 *   tells the loop through shared memory, which the loop reads without
 *   waiting for an event-loop turn.
 *
 * A second signal while a checkpoint is being written waits for the write
 * (a checkpoint cut short is worth nothing), then quits.
 *
 * @module
 */

/** Slots of the state shared with the worker (an `Int32Array`). */
export const Slot = {
  /** 0, or the number of the first signal that asked to stop (2 SIGINT, 15 SIGTERM). */
  stop: 0,
  /** The 1-based iteration the main thread is computing. */
  iteration: 1,
  /** 1 while the main thread writes a checkpoint: a second signal then waits for it. */
  protected: 2,
  /** The number of a second signal that came while protected, else 0. */
  quitPending: 3,
} as const;

const SLOTS = 4;

/** The first message the worker receives. */
export interface InterruptInit {
  /** The shared state. */
  buffer: SharedArrayBuffer;
  /** Milliseconds after the first signal during which further signals are copies of it. */
  graceMs: number;
  /** Clear the progress line before a message (stderr is a terminal). */
  terminal: boolean;
}

/** Options for {@linkcode listenForInterrupts}. */
export interface InterruptOptions {
  /**
   * Milliseconds after the first signal during which further signals are
   * taken as copies of it.
   * @default {1000}
   */
  graceMs?: number;
}

/** The signals that stop training, by name. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** A running listener; see {@linkcode listenForInterrupts}. */
export interface Interrupts {
  /** The first stopping signal, or `null` while none came. */
  readonly requested: StopSignal | null;
  /** Tell the listener which 1-based iteration is being computed (for its message). */
  setIteration(iteration: number): void;
  /**
   * Run `write` (a checkpoint) so that a second signal waits for it to end;
   * if one came meanwhile, the process then exits with 128 + its number.
   */
  protect<T>(write: () => Promise<T>): Promise<T>;
  /** Stop listening: signals get their default action again. */
  close(): void;
}

const NAMES: Record<number, StopSignal> = { 2: "SIGINT", 15: "SIGTERM" };

/**
 * Start listening for SIGINT and SIGTERM (in a worker) and resolve once the
 * listeners are in place.
 *
 * @example Listen, and stop listening
 * ```ts
 * import { listenForInterrupts } from "./interrupt.ts";
 * const interrupts = await listenForInterrupts();
 * interrupts.setIteration(1);
 * console.assert(interrupts.requested === null);
 * interrupts.close();
 * ```
 */
export async function listenForInterrupts(options: InterruptOptions = {}): Promise<Interrupts> {
  const buffer = new SharedArrayBuffer(SLOTS * Int32Array.BYTES_PER_ELEMENT);
  const state = new Int32Array(buffer);
  const worker = new Worker(new URL("./interrupt_worker.ts", import.meta.url), {
    type: "module",
  });
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`Cannot listen for Ctrl-C: ${e.message}`));
    };
  });
  const init: InterruptInit = {
    buffer,
    graceMs: options.graceMs ?? 1000,
    terminal: Deno.stderr.isTerminal(),
  };
  worker.postMessage(init);
  try {
    await ready;
  } catch (e) {
    worker.terminate();
    throw e;
  }
  return {
    get requested() {
      return NAMES[Atomics.load(state, Slot.stop)] ?? null;
    },
    setIteration(iteration) {
      Atomics.store(state, Slot.iteration, iteration);
    },
    async protect(write) {
      Atomics.store(state, Slot.protected, 1);
      try {
        return await write();
      } finally {
        Atomics.store(state, Slot.protected, 0);
        const pending = Atomics.load(state, Slot.quitPending);
        if (pending !== 0) {
          worker.terminate();
          Deno.exit(128 + pending);
        }
      }
    },
    close() {
      worker.terminate();
    },
  };
}
