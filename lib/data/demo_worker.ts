/**
 * Web worker that synthesizes demo-corpus utterances with espeak-ng (wasm).
 * Internal to {@linkcode ./demo_corpus.ts}; not part of the public API.
 *
 * Message in: `{ jobs: { args: string[]; out: string }[] }`; for each job it
 * runs the espeak-ng command line with `-w <virtual file>` and writes the WAV
 * bytes to `out`. Message out: `{ done: number }` per job, then
 * `{ finished: true }`, or `{ error: string }`.
 *
 * @module
 */

import { ESpeakNg } from "../deps.ts";

interface Job {
  args: string[];
  out: string;
}

interface ESpeakModule {
  FS: { readFile(path: string): Uint8Array };
}

/** Synthesize one utterance and return the WAV bytes espeak-ng wrote. */
async function synthesize(args: readonly string[]): Promise<Uint8Array> {
  const factory = ESpeakNg as unknown as (
    options: Record<string, unknown>,
  ) => Promise<ESpeakModule>;
  const module = await factory({
    arguments: ["-w", "/tmp/out.wav", ...args],
    print: () => {},
    printErr: () => {},
  });
  return module.FS.readFile("/tmp/out.wav");
}

// deno-lint-ignore no-explicit-any
const scope = self as any;
if (typeof scope.WorkerGlobalScope !== "undefined" && self instanceof scope.WorkerGlobalScope) {
  scope.onmessage = async (event: MessageEvent<{ jobs: Job[] }>) => {
    try {
      for (const job of event.data.jobs) {
        await Deno.writeFile(job.out, await synthesize(job.args));
        scope.postMessage({ done: 1 });
      }
      scope.postMessage({ finished: true });
    } catch (e) {
      scope.postMessage({ error: e instanceof Error ? e.message : String(e) });
    }
  };
}
