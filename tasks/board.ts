/**
 * `deno task board [runs dir] [--port N] [--host H] [--token T]`
 *
 * Serves the board, a local web page over a runs directory: the runs list,
 * loss curves and diagnostics (live while runs train), reports with their
 * mermaid diagrams, samples, probe audio rendered from checkpoints, run
 * comparison and ablation results.
 *
 * @module
 */
import { choiceFlag, intFlag, parseTaskArgs, runKnown, usageError, userPath } from "./cli.ts";
import { BACKEND_NAMES } from "../lib/backend/init.ts";
import { defaultAudioCacheDir } from "../lib/board/audio.ts";
import { isLoopback, serveBoard } from "../lib/board/server.ts";

const USAGE = `Usage: deno task board [runs dir] [options]

Serve a local web page to browse runs (default runs dir: runs/ next to
deno.json): the runs list, loss curves, diagnostics, reports, samples, probe
audio, comparisons and ablations. Updates live while runs train.

Options:
  --port <n>       port to listen on; 0 picks a free one (default: 8740)
  --host <h>       interface to listen on (default: 127.0.0.1, loopback only).
                   Any other host needs a token: --token, or one is generated
  --token <t>      require this token on every request (?token=… once, then a cookie)
  --cache <dir>    where rendered audio is cached (default: ${defaultAudioCacheDir()})
  --backend <b>    tfjs backend for rendering audio: ${BACKEND_NAMES.join(", ")} (default: auto)
  --help           show this help`;

/** Run the board task with command-line arguments; returns the exit code once the server stops. */
export async function main(args: string[], signal?: AbortSignal): Promise<number> {
  const cli = {
    name: "board",
    usage: USAGE,
    prefix: "board: ",
    options: {
      port: { type: "string", default: "8740" },
      host: { type: "string", default: "127.0.0.1" },
      token: { type: "string" },
      cache: { type: "string" },
      backend: { type: "string", default: "auto" },
    },
  } as const;
  const parsed = parseTaskArgs(args, cli);
  if (typeof parsed === "number") return parsed;
  if (parsed.positionals.length > 1) {
    return usageError(cli, "Cannot serve: give one runs directory");
  }
  return await runKnown([RangeError], async () => {
    const root = parsed.positionals[0] !== undefined
      ? userPath(parsed.positionals[0])
      : userPath("runs", { base: "project" });
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(root);
    } catch {
      throw new RangeError(`Cannot serve '${root}': no such directory`);
    }
    if (!info.isDirectory) throw new RangeError(`Cannot serve '${root}': not a directory`);
    const port = intFlag("--port", parsed.values.port, 0);
    const hostname = parsed.values.host;
    let token = parsed.values.token ?? null;
    if (!isLoopback(hostname)) {
      token ??= [...crypto.getRandomValues(new Uint8Array(16))]
        .map((b) => b.toString(16).padStart(2, "0")).join("");
      console.error(
        `board: WARNING: listening on ${hostname}, not loopback: anyone who can reach this ` +
          `machine and has the token can read the runs in ${root}`,
      );
    }
    let served;
    try {
      served = serveBoard(root, {
        port,
        hostname,
        token,
        backend: choiceFlag("--backend", parsed.values.backend, BACKEND_NAMES),
        ...(parsed.values.cache ? { cacheDir: userPath(parsed.values.cache) } : {}),
        ...(signal ? { signal } : {}),
        onListen: (url) => console.log(`board: serving ${root} at ${url}`),
      });
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse || e instanceof Deno.errors.AddrNotAvailable)) {
        throw e;
      }
      throw new RangeError(`Cannot listen on ${hostname}:${port}: ${(e as Error).message}`);
    }
    await served.server.finished;
    return 0;
  }, { prefix: cli.prefix });
}

if (import.meta.main) Deno.exit(await main(Deno.args));
