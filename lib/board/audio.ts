/**
 * The board's audio cache: a run's probe audio is rendered on request from
 * its checkpoint by a child process (`render_audio.ts`) into
 * `<cache>/<run key>/<checkpoint stamp>/`, one render at a time, with its
 * progress kept for the page to poll. The cache is the only thing the board
 * writes; the runs directory stays read-only.
 *
 * @module
 */

import { join } from "node:path";
import type { BackendName } from "../backend/init.ts";
import { RUN_FILES } from "../runs/run_dir.ts";
import type { AudioManifest } from "./render_audio.ts";
import { BoardPathError, confinePath } from "./paths.ts";

/** A run's audio state (`GET /api/run/audio`). */
export type AudioStatus =
  | { state: "none"; checkpoint: boolean }
  | { state: "queued" }
  | { state: "rendering"; done: number; total: number; step: string }
  | { state: "done"; manifest: AudioManifest }
  | { state: "error"; message: string };

/** Options for {@linkcode AudioCache}. */
export interface AudioCacheOptions {
  /**
   * The tfjs backend the renderer uses.
   * @default {"auto"}
   */
  backend?: BackendName;
}

/** The default cache folder: `$XDG_CACHE_HOME/voxlab/board`, else `~/.cache/voxlab/board`. */
export function defaultAudioCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  const home = Deno.env.get("HOME") ?? ".";
  return join(xdg || join(home, ".cache"), "voxlab", "board");
}

async function sha(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].slice(0, 8).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

interface Job {
  state: "queued" | "rendering";
  done: number;
  total: number;
  step: string;
}

/** Rendered probe audio per run and checkpoint, rendered on demand. */
export class AudioCache {
  /** The cache folder. */
  readonly root: string;
  readonly #backend: BackendName;
  #jobs = new Map<string, Job>();
  #errors = new Map<string, string>();
  #queue: Promise<void> = Promise.resolve();
  #children = new Set<Deno.ChildProcess>();

  /** A cache in `root` (created when the first render starts). */
  constructor(root: string, options: AudioCacheOptions = {}) {
    this.root = root;
    this.#backend = options.backend ?? "auto";
  }

  /** The folder a run's audio for its current checkpoint goes to, or null without a checkpoint. */
  async folder(runDir: string): Promise<string | null> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(join(runDir, RUN_FILES.checkpoint));
    } catch {
      return null;
    }
    const key = await sha(await Deno.realPath(runDir));
    return join(this.root, key, `ckpt-${info.mtime?.getTime() ?? 0}-${info.size}`);
  }

  /** The audio state of a run. */
  async status(runDir: string): Promise<AudioStatus> {
    const folder = await this.folder(runDir);
    if (!folder) return { state: "none", checkpoint: false };
    const job = this.#jobs.get(folder);
    if (job) {
      return job.state === "queued"
        ? { state: "queued" }
        : { state: "rendering", done: job.done, total: job.total, step: job.step };
    }
    try {
      const manifest = JSON.parse(
        await Deno.readTextFile(join(folder, "manifest.json")),
      ) as AudioManifest;
      return { state: "done", manifest };
    } catch { /* not rendered */ }
    const error = this.#errors.get(folder);
    if (error) return { state: "error", message: error };
    return { state: "none", checkpoint: true };
  }

  /** Start rendering a run's audio unless it is rendered, queued or rendering. */
  async start(runDir: string): Promise<AudioStatus> {
    const current = await this.status(runDir);
    if (current.state === "none" && !current.checkpoint) {
      return { state: "error", message: "the run has no checkpoint yet" };
    }
    if (current.state !== "none" && current.state !== "error") return current;
    const folder = (await this.folder(runDir))!;
    this.#errors.delete(folder);
    const job: Job = { state: "queued", done: 0, total: 0, step: "" };
    this.#jobs.set(folder, job);
    // One render at a time: each takes the machine's cores.
    this.#queue = this.#queue.then(() => this.#render(runDir, folder, job)).catch((e) => {
      this.#errors.set(folder, e instanceof Error ? e.message : String(e));
    }).finally(() => this.#jobs.delete(folder));
    return { state: "queued" };
  }

  async #render(runDir: string, folder: string, job: Job): Promise<void> {
    job.state = "rendering";
    const tmp = `${folder}.tmp`;
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    await Deno.mkdir(tmp, { recursive: true });
    const script = new URL("./render_audio.ts", import.meta.url);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", script.href, runDir, tmp, this.#backend],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
    this.#children.add(child);
    const stderr = new Response(child.stderr).text();
    let buffered = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) {
        try {
          const p = JSON.parse(line) as { done: number; total: number; step: string };
          [job.done, job.total, job.step] = [p.done, p.total, p.step];
        } catch { /* not a progress line */ }
      }
    }
    const { code } = await child.status;
    this.#children.delete(child);
    if (code !== 0) {
      const lines = (await stderr).trim().split("\n").filter(Boolean);
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw new Error(lines.at(-1) ?? `the renderer exited with code ${code}`);
    }
    await Deno.remove(folder, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, folder);
  }

  /** The path of a rendered WAV of a run; refuses names outside its folder. */
  async file(runDir: string, name: string): Promise<string> {
    const folder = await this.folder(runDir);
    if (!folder || !/^[A-Za-z0-9._=-]+\.wav$/.test(name)) {
      throw new BoardPathError(`Cannot open audio '${name}': no such file`, 404);
    }
    return await confinePath(folder, name);
  }

  /** Wait for queued renders to end (tests) or stop them (server shutdown). */
  async close(options: { kill?: boolean } = {}): Promise<void> {
    if (options.kill) {
      for (const c of this.#children) {
        try {
          c.kill();
        } catch { /* already gone */ }
      }
    }
    await this.#queue;
  }
}
