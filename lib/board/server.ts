/**
 * The board's HTTP routes over a runs directory, and the server that serves
 * them. Everything is read-only except the audio cache; every request is
 * checked against the token when there is one; run ids come from the index
 * (never used as paths), and file paths inside a run are confined to it.
 *
 * Routes (GET unless noted; `run` is a run id from `/api/runs`):
 *
 * | route | answer |
 * | --- | --- |
 * | `/` | the page (`static/index.html`) |
 * | `/static/<name>` | the page's script and style |
 * | `/vendor/mermaid.js`, `/vendor/marked.js` | the pinned npm packages' browser files |
 * | `/api/runs` | `{ root, runs: RunSummary[], ablations: string[] }` |
 * | `/api/run?run=` | `{ summary, config }` |
 * | `/api/run/metrics?run=&from=&generation=` | `{ records, next, generation }`: records from index `from` (all, when the file was replaced) |
 * | `/api/run/diagnostics?run=&from=&generation=` | the same for `diagnostics.jsonl`, plus `threshold` |
 * | `/api/run/report?run=` | `report.md` as text |
 * | `/api/run/images?run=` | `{ samples, diagnostics }`: image paths in the run |
 * | `/api/run/file?run=&path=` | a file of the run (confined to its folder) |
 * | `/api/run/audio?run=` | the audio state; POST starts rendering |
 * | `/api/run/audio/file?run=&name=` | a rendered WAV |
 * | `/api/ablate?path=` | a parsed `ablate.json` (see `ablate.ts`) |
 *
 * @module
 */

import { dirname, extname, join, relative } from "node:path";
import {
  DEFAULT_COLLAPSE_PATIENCE,
  DEFAULT_COLLAPSE_THRESHOLD,
} from "../eval/diagnostics/measures.ts";
import { DIAGNOSTICS_FILES } from "../eval/diagnostics/records.ts";
import { RUN_FILES } from "../runs/run_dir.ts";
import { parseAblation } from "./ablate.ts";
import { AudioCache, type AudioCacheOptions, defaultAudioCacheDir } from "./audio.ts";
import type { JsonlTail } from "./jsonl.ts";
import { BoardPathError, confinePath } from "./paths.ts";
import { VENDOR_FILES } from "./vendor.ts";
import { type IndexedRun, RunIndex } from "./run_index.ts";

/** Options for {@linkcode createBoard}. */
export interface BoardOptions extends AudioCacheOptions {
  /**
   * The token every request must carry (`?token=`, the cookie it sets, or
   * `Authorization: Bearer`); null for none (loopback only).
   * @default {null}
   */
  token?: string | null;
  /**
   * Refuse requests whose `Host` header is not a loopback name (guards a
   * loopback server against DNS rebinding); off when the server listens on
   * another host with a token.
   * @default {true}
   */
  loopbackOnly?: boolean;
  /**
   * Where rendered audio is cached.
   * @default {defaultAudioCacheDir()}
   */
  cacheDir?: string;
  /**
   * Minutes without a write after which a "running" run shows as interrupted.
   * @default {30}
   */
  staleMinutes?: number;
}

/** A board: its request handler, and what it holds. */
export interface Board {
  /** Answer one request. */
  handler: (request: Request) => Promise<Response>;
  /** The run index. */
  index: RunIndex;
  /** The audio cache. */
  audio: AudioCache;
}

const STATIC_FILES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "charts.js": "text/javascript; charset=utf-8",
  "style.css": "text/css; charset=utf-8",
};

const CONTENT_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".wav": "audio/wav",
  ".md": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".yaml": "text/plain; charset=utf-8",
  ".json": "application/json",
  ".jsonl": "text/plain; charset=utf-8",
};

const SECURITY_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'self'; img-src 'self' data: blob:; media-src 'self'; " +
    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; frame-ancestors 'none'",
};

const COOKIE = "voxlab_board_token";

/** An HTTP error with its status, answered as a one-line text. */
class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}

function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a), y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

function requestToken(request: Request, url: URL): string | null {
  const q = url.searchParams.get("token");
  if (q !== null) return q;
  const auth = request.headers.get("authorization");
  if (auth?.startsWith("Bearer ")) return auth.slice(7);
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [k, ...v] = part.trim().split("=");
    if (k === COOKIE) return decodeURIComponent(v.join("="));
  }
  return null;
}

const isLoopbackHost = (host: string) =>
  /^(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?$/i.test(host);

async function serveFile(path: string, request: Request): Promise<Response> {
  const file = await Deno.open(path, { read: true });
  const size = (await file.stat()).size;
  const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream";
  const range = request.headers.get("range")?.match(/^bytes=(\d*)-(\d*)$/);
  if (range && (range[1] || range[2])) {
    // Media elements ask for ranges; answer them so audio can seek.
    let start = range[1] ? Number(range[1]) : size - Number(range[2]);
    let end = range[1] && range[2] ? Number(range[2]) : size - 1;
    start = Math.max(0, start);
    end = Math.min(size - 1, end);
    if (start > end) {
      file.close();
      return new Response(null, { status: 416, headers: { "content-range": `bytes */${size}` } });
    }
    await file.seek(start, Deno.SeekMode.Start);
    const bytes = new Uint8Array(end - start + 1);
    let got = 0;
    while (got < bytes.length) {
      const n = await file.read(bytes.subarray(got));
      if (n === null) break;
      got += n;
    }
    file.close();
    return new Response(bytes.subarray(0, got), {
      status: 206,
      headers: {
        "content-type": type,
        "content-range": `bytes ${start}-${start + got - 1}/${size}`,
        "accept-ranges": "bytes",
      },
    });
  }
  return new Response(file.readable, {
    headers: { "content-type": type, "content-length": String(size), "accept-ranges": "bytes" },
  });
}

async function listImages(dir: string, sub: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(join(dir, sub))) {
      if (e.isFile && e.name.endsWith(".png")) out.push(`${sub}/${e.name}`);
    }
  } catch { /* none */ }
  return out.sort();
}

async function tailSlice<T>(tail: JsonlTail<T>, url: URL) {
  await tail.update();
  const generation = Number(url.searchParams.get("generation") ?? tail.generation);
  let from = Math.max(0, Math.floor(Number(url.searchParams.get("from") ?? 0)) || 0);
  if (generation !== tail.generation || from > tail.records.length) from = 0;
  return {
    records: tail.records.slice(from),
    from,
    next: tail.records.length,
    generation: tail.generation,
    badLines: tail.badLines.length,
  };
}

const vendorText = new Map<string, Promise<string>>();
function vendor(name: keyof typeof VENDOR_FILES): Promise<string> {
  if (!vendorText.has(name)) vendorText.set(name, VENDOR_FILES[name]());
  return vendorText.get(name)!;
}

/**
 * A board over the runs directory `root`: the request handler (for
 * `Deno.serve`, or called directly in tests), its index and its audio cache.
 *
 * @example
 * ```ts
 * import { createBoard } from "./server.ts";
 * const root = await Deno.makeTempDir();
 * const board = createBoard(root, { cacheDir: `${root}/.cache` });
 * const res = await board.handler(new Request("http://127.0.0.1/api/runs"));
 * console.assert(res.status === 200 && (await res.json()).runs.length === 0);
 * await Deno.remove(root, { recursive: true });
 * ```
 */
export function createBoard(root: string, options: BoardOptions = {}): Board {
  const index = new RunIndex(
    root,
    options.staleMinutes === undefined ? {} : {
      staleMinutes: options.staleMinutes,
    },
  );
  const audio = new AudioCache(
    options.cacheDir ?? defaultAudioCacheDir(),
    options.backend ? { backend: options.backend } : {},
  );
  const token = options.token ?? null;
  const loopbackOnly = options.loopbackOnly ?? true;
  const staticDir = new URL("./static/", import.meta.url);

  const findRun = async (url: URL): Promise<IndexedRun> => {
    const id = url.searchParams.get("run");
    if (!id) throw new HttpError(400, "Cannot find run: no run= given");
    let run = index.get(id);
    if (!run) {
      await index.scan();
      run = index.get(id);
    }
    if (!run) throw new HttpError(404, `Cannot find run '${id}': not in the runs folder`);
    return run;
  };

  const route = async (request: Request, url: URL): Promise<Response> => {
    const path = url.pathname;
    const method = request.method;
    if (
      method !== "GET" && method !== "HEAD" && !(method === "POST" && path === "/api/run/audio")
    ) {
      throw new HttpError(405, `Cannot ${method} ${path}: the board is read-only`);
    }
    if (path === "/" || path === "/index.html") {
      return new Response(await Deno.readFile(new URL("index.html", staticDir)), {
        headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
      });
    }
    if (path.startsWith("/static/")) {
      const name = path.slice("/static/".length);
      const type = STATIC_FILES[name];
      if (!type) throw new HttpError(404, `Cannot find '${path}'`);
      return new Response(await Deno.readFile(new URL(name, staticDir)), {
        headers: { "content-type": type, "cache-control": "no-store" },
      });
    }
    if (path === "/vendor/mermaid.js" || path === "/vendor/marked.js") {
      const text = await vendor(path === "/vendor/mermaid.js" ? "mermaid" : "marked");
      return new Response(text, {
        headers: {
          "content-type": "text/javascript; charset=utf-8",
          "cache-control": "max-age=86400",
        },
      });
    }
    if (path === "/api/runs") {
      const runs = await index.summaries();
      return json({ root: index.root, runs, ablations: index.ablations() });
    }
    if (path === "/api/run") {
      const run = await findRun(url);
      const summary = await index.summaryWithDiff(run);
      let config: unknown = null;
      try {
        config = await index.config(run);
      } catch { /* broken: the summary says why */ }
      return json({ summary, config });
    }
    if (path === "/api/run/metrics") {
      return json(await tailSlice((await findRun(url)).metrics, url));
    }
    if (path === "/api/run/diagnostics") {
      return json({
        ...(await tailSlice((await findRun(url)).diagnostics, url)),
        threshold: DEFAULT_COLLAPSE_THRESHOLD,
        patience: DEFAULT_COLLAPSE_PATIENCE,
      });
    }
    if (path === "/api/run/report") {
      const run = await findRun(url);
      try {
        return new Response(await Deno.readTextFile(join(run.dir, RUN_FILES.report)), {
          headers: { "content-type": "text/markdown; charset=utf-8", "cache-control": "no-store" },
        });
      } catch {
        throw new HttpError(404, `Cannot read the report of '${run.id}': no report.md yet`);
      }
    }
    if (path === "/api/run/images") {
      const run = await findRun(url);
      return json({
        samples: await listImages(run.dir, RUN_FILES.samples),
        diagnostics: await listImages(run.dir, DIAGNOSTICS_FILES.pictures),
      });
    }
    if (path === "/api/run/file") {
      const run = await findRun(url);
      const real = await confinePath(run.dir, url.searchParams.get("path") ?? "");
      if (!(await Deno.stat(real)).isFile) throw new HttpError(404, "Cannot open path: not a file");
      return await serveFile(real, request);
    }
    if (path === "/api/run/audio") {
      const run = await findRun(url);
      return json(method === "POST" ? await audio.start(run.dir) : await audio.status(run.dir));
    }
    if (path === "/api/run/audio/file") {
      const run = await findRun(url);
      return await serveFile(
        await audio.file(run.dir, url.searchParams.get("name") ?? ""),
        request,
      );
    }
    if (path === "/api/ablate") {
      const rel = url.searchParams.get("path") ?? "";
      if (!/(^|\/)([^/]+\.)?ablate\.json$/.test(rel)) {
        throw new HttpError(403, `Cannot open '${rel}': only ablate.json files are read here`);
      }
      const real = await confinePath(index.root, rel);
      let parsed: unknown;
      try {
        parsed = JSON.parse(await Deno.readTextFile(real));
      } catch (e) {
        throw new HttpError(422, `Cannot read '${rel}': ${(e as Error).message}`);
      }
      try {
        const ablation = parseAblation(parsed);
        // Run paths in the file are relative to its folder (deno task ablate writes
        // them so); the page asks for runs by their id, relative to the root.
        const fromRoot = (run: string | null) =>
          run === null ? null : relative(index.root, join(dirname(real), run));
        for (const s of ablation.seeds) {
          s.base = fromRoot(s.base);
          s.ablation = fromRoot(s.ablation);
        }
        return json({ path: relative(index.root, real), ablation });
      } catch (e) {
        throw new HttpError(422, `Cannot read '${rel}': ${(e as Error).message}`);
      }
    }
    throw new HttpError(404, `Cannot find '${path}'`);
  };

  const handler = async (request: Request): Promise<Response> => {
    let response: Response;
    try {
      const url = new URL(request.url);
      if (loopbackOnly && !isLoopbackHost(request.headers.get("host") ?? url.host)) {
        throw new HttpError(
          403,
          "Cannot serve this host name: the board answers loopback names only",
        );
      }
      let setCookie = false;
      if (token !== null) {
        const given = requestToken(request, url);
        if (given === null) throw new HttpError(401, "Cannot open the board: a token is required");
        if (!sameToken(given, token)) {
          throw new HttpError(401, "Cannot open the board: wrong token");
        }
        setCookie = url.searchParams.has("token");
      }
      response = await route(request, url);
      if (setCookie) {
        response.headers.append(
          "set-cookie",
          `${COOKIE}=${encodeURIComponent(token!)}; Path=/; HttpOnly; SameSite=Strict`,
        );
      }
    } catch (e) {
      const status = e instanceof HttpError || e instanceof BoardPathError
        ? e.status
        : e instanceof Deno.errors.NotFound
        ? 404
        : 500;
      const message = e instanceof Error ? e.message : String(e);
      response = new Response(message.split("\n")[0] + "\n", {
        status,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) response.headers.set(k, v);
    return response;
  };
  return { handler, index, audio };
}

/** Options for {@linkcode serveBoard}. */
export interface ServeBoardOptions extends BoardOptions {
  /**
   * Port; 0 picks a free one.
   * @default {8740}
   */
  port?: number;
  /**
   * Interface to listen on. Anything but loopback needs a token.
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /** Called once listening, with the address to open. */
  onListen?: (url: string) => void;
  /** Stops the server. */
  signal?: AbortSignal;
}

/** Whether a listen address is loopback only. */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * Serve the board over `root` with `Deno.serve`.
 *
 * @throws {RangeError} when listening beyond loopback without a token.
 */
export function serveBoard(
  root: string,
  options: ServeBoardOptions = {},
): { server: Deno.HttpServer; board: Board } {
  const hostname = options.hostname ?? "127.0.0.1";
  const loopback = isLoopback(hostname);
  if (!loopback && !options.token) {
    throw new RangeError(`Cannot serve on '${hostname}': a host beyond loopback needs a token`);
  }
  const board = createBoard(root, { ...options, loopbackOnly: loopback && !options.token });
  const server = Deno.serve({
    hostname,
    port: options.port ?? 8740,
    ...(options.signal ? { signal: options.signal } : {}),
    onListen: ({ port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      const query = options.token ? `?token=${encodeURIComponent(options.token)}` : "";
      options.onListen?.(`http://${host}:${port}/${query}`);
    },
  }, board.handler);
  server.finished.then(() => board.audio.close({ kill: true }));
  return { server, board };
}
