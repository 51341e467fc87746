/**
 * JSON Lines files (`metrics.jsonl`, `diagnostics.jsonl`): one JSON record a
 * line, appended and flushed a line at a time so that a killed run keeps
 * every finished record; read back with a last line cut short by a crash
 * ignored; trimmed (e.g. to a checkpoint's iteration on resume) atomically.
 *
 * @module
 */

import { writeFileAtomic } from "./io/atomic.ts";
import { IoError } from "./io/io_error.ts";

/**
 * Appends records to a JSONL file, one line each, written through before
 * `append` returns.
 *
 * @example
 * ```ts
 * import { JsonlWriter, readJsonl } from "./jsonl.ts";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const w = new JsonlWriter<{ n: number }>(path);
 * w.append({ n: 1 });
 * w.close();
 * console.assert((await readJsonl<{ n: number }>(path, "records"))[0]!.n === 1);
 * ```
 */
export class JsonlWriter<T> {
  #file: Deno.FsFile;
  #path: string;
  #encoder = new TextEncoder();

  /**
   * Open `path` for appending (created if missing).
   *
   * @throws {IoError} naming the path when it cannot be opened
   */
  constructor(path: string) {
    this.#path = path;
    try {
      this.#file = Deno.openSync(path, { append: true, create: true });
    } catch (e) {
      throw IoError.from("open", path, e);
    }
  }

  /**
   * Append one record as a line.
   *
   * @throws {IoError} naming the path and the cause (a full disk, …)
   */
  append(record: T): void {
    const bytes = this.#encoder.encode(JSON.stringify(record) + "\n");
    let written = 0;
    try {
      while (written < bytes.length) written += this.#file.writeSync(bytes.subarray(written));
    } catch (e) {
      throw IoError.from("write", this.#path, e);
    }
  }

  /** Close the file. */
  close(): void {
    this.#file.close();
  }
}

/** Append one record as a line to a JSONL file (created if missing), opening and closing it. */
export function appendJsonl<T>(path: string, record: T): void {
  try {
    Deno.writeTextFileSync(path, JSON.stringify(record) + "\n", { append: true });
  } catch (e) {
    throw IoError.from("write", path, e);
  }
}

/** Options for {@linkcode readJsonl}. */
export interface ReadJsonlOptions {
  /**
   * Give an empty list for a missing file instead of throwing `NotFound`.
   * @default {false}
   */
  missingIsEmpty?: boolean;
}

/**
 * Read every record of a JSONL file. A last line without its newline (cut
 * short by a crash) is ignored; any other malformed line is a `SyntaxError`
 * naming the file and the line: `Cannot read <what> '<path>': line N is not
 * valid JSON`.
 */
export async function readJsonl<T>(
  path: string,
  what: string,
  options: ReadJsonlOptions = {},
): Promise<T[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (options.missingIsEmpty && e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
  const lines = text.split("\n");
  const out: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      if (i === lines.length - 1) break;
      throw new SyntaxError(`Cannot read ${what} '${path}': line ${i + 1} is not valid JSON`);
    }
  }
  return out;
}

/**
 * Keep only the records `keep` accepts (and drop a last line cut short),
 * rewriting the file atomically and synced ({@linkcode writeFileAtomic}): a
 * crash while rewriting keeps the old file whole. A missing file is
 * left missing. A resumed run trims its JSONL files to the checkpoint's
 * iteration, so that the iterations it recomputes are not listed twice.
 *
 * @example
 * ```ts
 * import { JsonlWriter, readJsonl, trimJsonl } from "./jsonl.ts";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * const w = new JsonlWriter<{ iteration: number }>(path);
 * for (const iteration of [1, 2, 3]) w.append({ iteration });
 * w.close();
 * await trimJsonl<{ iteration: number }>(path, "records", (r) => r.iteration <= 2);
 * console.assert((await readJsonl(path, "records")).length === 2);
 * ```
 */
export async function trimJsonl<T>(
  path: string,
  what: string,
  keep: (record: T) => boolean,
): Promise<void> {
  let records: T[];
  try {
    records = await readJsonl<T>(path, what);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  const kept = records.filter(keep);
  // Atomic and synced: a crash while rewriting keeps the old file whole.
  await writeFileAtomic(path, kept.map((r) => JSON.stringify(r) + "\n").join(""));
}
