/**
 * Reading a growing JSONL file incrementally: each call reads only the bytes
 * appended since the last one (the byte offset is kept), parses the complete
 * lines and keeps a line still being written for the next call. A file that
 * was replaced or shortened (a resumed run rewrites `metrics.jsonl`) is read
 * again from the start.
 *
 * @module
 */

/** What one {@linkcode JsonlTail.update} found. */
export interface JsonlUpdate<T> {
  /** Records parsed from the newly appended complete lines. */
  added: T[];
  /** True when the file was replaced or shortened, so `records` starts over. */
  reset: boolean;
}

/**
 * A growing JSONL file, read incrementally.
 *
 * @example
 * ```ts
 * import { JsonlTail } from "./jsonl.ts";
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * await Deno.writeTextFile(path, '{"a":1}\n{"a":');
 * const tail = new JsonlTail<{ a: number }>(path);
 * await tail.update();
 * console.assert(tail.records.length === 1);
 * await Deno.writeTextFile(path, '2}\n', { append: true });
 * await tail.update();
 * console.assert(tail.records.length === 2 && tail.records[1]!.a === 2);
 * await Deno.remove(path);
 * ```
 */
export class JsonlTail<T = unknown> {
  /** The file. */
  readonly path: string;
  /** Every record read so far. */
  readonly records: T[] = [];
  /** Lines that were not valid JSON (1-based line numbers), skipped. */
  readonly badLines: number[] = [];
  /** Bytes of complete lines consumed so far. */
  offset = 0;
  /** Bytes read from disk since creation (for tests: incremental reads stay small). */
  bytesRead = 0;
  /** Incremented each time the file was replaced or shortened and `records` started over. */
  generation = 0;
  #lines = 0;
  #ino: number | null = null;
  #busy: Promise<JsonlUpdate<T>> | null = null;

  /** A tail of `path`; nothing is read until {@linkcode update}. */
  constructor(path: string) {
    this.path = path;
  }

  /** Read what was appended since the last call; a missing file reads as empty. */
  update(): Promise<JsonlUpdate<T>> {
    // Concurrent requests share one read, so offsets never race.
    this.#busy ??= this.#update().finally(() => this.#busy = null);
    return this.#busy;
  }

  async #update(): Promise<JsonlUpdate<T>> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.path, { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) {
        const reset = this.offset > 0;
        if (reset) this.#clear();
        return { added: [], reset };
      }
      throw e;
    }
    try {
      const info = await file.stat();
      let reset = false;
      if (info.size < this.offset || (this.#ino !== null && info.ino !== this.#ino)) {
        this.#clear();
        reset = true;
      }
      this.#ino = info.ino;
      if (info.size === this.offset) return { added: [], reset };
      await file.seek(this.offset, Deno.SeekMode.Start);
      const bytes = new Uint8Array(info.size - this.offset);
      let got = 0;
      while (got < bytes.length) {
        const n = await file.read(bytes.subarray(got));
        if (n === null) break;
        got += n;
      }
      this.bytesRead += got;
      const end = bytes.subarray(0, got).lastIndexOf(10); // the last "\n"
      if (end < 0) return { added: [], reset };
      const text = new TextDecoder().decode(bytes.subarray(0, end));
      this.offset += end + 1;
      const added: T[] = [];
      for (const line of text.split("\n")) {
        this.#lines++;
        if (!line.trim()) continue;
        try {
          added.push(JSON.parse(line) as T);
        } catch {
          this.badLines.push(this.#lines);
        }
      }
      this.records.push(...added);
      return { added, reset };
    } finally {
      file.close();
    }
  }

  #clear() {
    this.generation++;
    this.records.length = 0;
    this.badLines.length = 0;
    this.offset = 0;
    this.#lines = 0;
    this.#ino = null;
  }
}
