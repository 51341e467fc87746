/**
 * Dataset sources: where the audio files are and what their labels are.
 *
 * Two kinds: a manifest (YAML or CSV) listing a path and attribute values per
 * row, and a folder-per-speaker layout in the style of VCTK, with an optional
 * speaker-info table.
 *
 * @module
 */

import { normalize } from "node:path";
import { YAML } from "../deps.ts";
import { AUDIO_FILE_PATTERN } from "./decode.ts";
import { DataError, type SkippedInput } from "./errors.ts";
import { type AttributeSpec, LabelError, LabelSchema, type LabelValues } from "./labels.ts";

/** One utterance of a source: its audio file and attribute values. */
export interface SourceEntry {
  /** Path of the audio file. */
  path: string;
  /** Attribute values (`null` = unknown). */
  values: LabelValues;
  /** Where the entry came from, for messages (e.g. `manifest.csv:12`). */
  origin: string;
}

/** A list of utterances with their label schema. */
export interface DatasetSource {
  /** A short name for messages and reports. */
  name: string;
  /** The usable entries. */
  entries: SourceEntry[];
  /** The label schema the entries' values fit. */
  schema: LabelSchema;
  /** Entries that were skipped, with the reason. */
  skipped: SkippedInput[];
}

/** Options shared by the source readers. */
export interface SourceOptions {
  /**
   * Stop at the first bad entry with a {@linkcode DataError} instead of skipping it.
   * @default {false}
   */
  strict?: boolean;
  /**
   * A fixed schema to validate against; by default the manifest's own
   * `attributes` (YAML), else one inferred from the values.
   * @default {undefined}
   */
  schema?: LabelSchema;
  /**
   * Attributes that are condition-only (not classified) when the schema is inferred.
   * @default {[]}
   */
  conditionOnly?: readonly string[];
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

function resolvePath(base: string, path: string): string {
  return path.startsWith("/") ? path : `${base}/${path}`;
}

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** Parse CSV text (RFC 4180: quotes, doubled quotes, CRLF) into rows. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [], field = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      if (row.some((f) => f !== "")) rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  row.push(field);
  if (row.some((f) => f !== "")) rows.push(row);
  return rows;
}

/** Collect the entries, checking files and values; skip or throw per `strict`. */
function finish(
  name: string,
  rows: SourceEntry[],
  schemaIn: LabelSchema | undefined,
  options: SourceOptions,
): DatasetSource {
  const skipped: SkippedInput[] = [];
  const reject = (e: SourceEntry, problem: string) => {
    const err = new DataError("Cannot use dataset entry", e.origin, problem);
    if (options.strict) throw err;
    skipped.push({ path: e.origin, problem });
  };
  // A file listed twice would be drawn twice as often (or under two labellings): the first row
  // counts, later ones are rejected.
  const first = new Map<string, SourceEntry>();
  const unique = rows.filter((e) => {
    const key = normalize(e.path);
    const earlier = first.get(key);
    if (!earlier) {
      first.set(key, e);
      return true;
    }
    const same = JSON.stringify(earlier.values) === JSON.stringify(e.values);
    reject(
      e,
      `audio file '${e.path}' is listed again (first at ${earlier.origin}${
        same ? "" : ", with other labels"
      })`,
    );
    return false;
  });
  const present = unique.filter((e) => {
    if (exists(e.path)) return true;
    reject(e, `audio file '${e.path}' does not exist`);
    return false;
  });
  const schema = schemaIn ??
    LabelSchema.infer(present.map((e) => e.values), {
      ...(options.conditionOnly ? { conditionOnly: options.conditionOnly } : {}),
    });
  const entries = present.filter((e) => {
    try {
      schema.validate(e.values);
      return true;
    } catch (err) {
      if (!(err instanceof LabelError)) throw err;
      reject(e, err.message.replace(/^Cannot encode labels: /, ""));
      return false;
    }
  });
  return { name, entries, schema, skipped };
}

function cell(v: unknown): string | string[] | null {
  if (v === null || v === undefined || v === "") return null;
  if (Array.isArray(v)) return v.map((x) => String(x));
  return String(v);
}

/**
 * Read a manifest: CSV (header `path,<attribute>,…`; an empty cell is
 * unknown) or YAML (either a list of `{path, <attribute>: value}` rows, or
 * `{attributes: [{name, values, classified}], items: [...]}` with a fixed
 * schema). Relative paths are relative to the manifest's folder.
 *
 * @throws {DataError} when the manifest itself cannot be read or parsed,
 *   and, with `strict`, at the first row naming a missing file or an unknown value.
 * @example
 * ```ts
 * import { encodeWav, readManifest } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeFile(`${dir}/a.wav`, encodeWav({ samples: new Float32Array(600), sampleRate: 16000 }));
 * await Deno.writeTextFile(`${dir}/m.csv`, "path,speaker\na.wav,alice\nmissing.wav,bob\n");
 * const src = await readManifest(`${dir}/m.csv`);
 * console.assert(src.entries.length === 1 && src.skipped.length === 1);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readManifest(
  path: string,
  options: SourceOptions = {},
): Promise<DatasetSource> {
  const fail = (problem: string): never => {
    throw new DataError("Cannot read manifest", path, problem);
  };
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    fail(e instanceof Deno.errors.NotFound ? "the file does not exist" : String(e));
  }
  const base = dirname(path);
  const rows: SourceEntry[] = [];
  let schema = options.schema;
  if (/\.csv$/i.test(path)) {
    const table = parseCsv(text);
    const header = table[0]?.map((h) => h.trim());
    if (!header) return fail("the file is empty");
    const pathCol = header.indexOf("path");
    if (pathCol < 0) fail(`no 'path' column in header '${header.join(",")}'`);
    table.slice(1).forEach((r, i) => {
      const values: LabelValues = {};
      header.forEach((h, c) => {
        if (c !== pathCol) values[h] = cell(r[c]?.trim());
      });
      rows.push({
        path: resolvePath(base, (r[pathCol] ?? "").trim()),
        values,
        origin: `${path}:${i + 2}`,
      });
    });
  } else if (/\.ya?ml$/i.test(path)) {
    let doc: unknown;
    try {
      doc = YAML.parse(text);
    } catch (e) {
      fail(`invalid YAML (${e instanceof Error ? e.message.split("\n")[0] : e})`);
    }
    let items: unknown = doc;
    if (doc && typeof doc === "object" && !Array.isArray(doc)) {
      const d = doc as { attributes?: AttributeSpec[]; items?: unknown };
      items = d.items;
      if (d.attributes && !schema) {
        try {
          schema = new LabelSchema(d.attributes);
        } catch (e) {
          fail(e instanceof Error ? e.message : String(e));
        }
      }
    }
    if (!Array.isArray(items)) fail("expected a list of items, or 'items:' with a list");
    (items as unknown[]).forEach((item, i) => {
      if (
        !item || typeof item !== "object" || typeof (item as { path?: unknown }).path !== "string"
      ) {
        fail(`item ${i + 1} has no 'path' string`);
      }
      const { path: p, ...rest } = item as { path: string } & Record<string, unknown>;
      const values: LabelValues = {};
      for (const [k, v] of Object.entries(rest)) values[k] = cell(v);
      rows.push({ path: resolvePath(base, p), values, origin: `${path}: item ${i + 1}` });
    });
  } else {
    fail("expected a .csv, .yaml or .yml manifest");
  }
  return finish(path, rows, schema, options);
}

/** Options for {@linkcode scanSpeakerFolders}. */
export interface SpeakerFolderOptions extends SourceOptions {
  /**
   * Keep only files whose path matches, e.g. `/mic1/` for VCTK 0.92.
   * @default {undefined}
   */
  match?: RegExp;
  /**
   * The speaker-info table; by default `speaker-info.txt` in the root, if present.
   * @default {"<root>/speaker-info.txt"}
   */
  speakerInfo?: string;
}

/**
 * Parse a VCTK-style speaker-info table: a header line (`ID AGE GENDER
 * ACCENTS …`), then whitespace-separated rows. Returns speaker id ->
 * `{ gender, accent }` (ids are normalised to start with `p`).
 */
export function parseSpeakerInfo(text: string): Map<string, { gender: string; accent: string }> {
  const out = new Map<string, { gender: string; accent: string }>();
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== "");
  const header = (lines[0] ?? "").trim().split(/\s+/).map((h) => h.toUpperCase());
  const col = (name: string, fallback: number) => {
    const i = header.indexOf(name);
    return i < 0 ? fallback : i;
  };
  const id = col("ID", 0), gender = col("GENDER", 2), accent = col("ACCENTS", 3);
  for (const line of lines.slice(1)) {
    const f = line.trim().split(/\s+/);
    const sid = f[id];
    if (!sid) continue;
    out.set(/^\d/.test(sid) ? `p${sid}` : sid, {
      gender: f[gender] ?? "",
      accent: f[accent] ?? "",
    });
  }
  return out;
}

/**
 * Scan a folder-per-speaker corpus: `<root>/<speaker>/*.wav|flac|mp3|ogg`, or the
 * same under `<root>/wav48_silence_trimmed/`, `<root>/wav48/` or
 * `<root>/wav/` when present (VCTK). Attributes: `speaker` (the folder name),
 * and `gender` and `accent` from the speaker-info table when there is one
 * (unknown for speakers it does not list).
 *
 * @throws {DataError} when the root is not a folder or holds no audio.
 */
export async function scanSpeakerFolders(
  root: string,
  options: SpeakerFolderOptions = {},
): Promise<DatasetSource> {
  const fail = (problem: string): never => {
    throw new DataError("Cannot scan speaker folders", root, problem);
  };
  try {
    if (!(await Deno.stat(root)).isDirectory) fail("not a folder");
  } catch (e) {
    if (e instanceof DataError) throw e;
    fail("the folder does not exist");
  }
  let audioRoot = root;
  for (const sub of ["wav48_silence_trimmed", "wav48", "wav"]) {
    try {
      if ((await Deno.stat(`${root}/${sub}`)).isDirectory) {
        audioRoot = `${root}/${sub}`;
        break;
      }
    } catch { /* not this layout */ }
  }
  const infoPath = options.speakerInfo ?? `${root}/speaker-info.txt`;
  let info: Map<string, { gender: string; accent: string }> | null = null;
  try {
    info = parseSpeakerInfo(await Deno.readTextFile(infoPath));
  } catch (e) {
    if (options.speakerInfo !== undefined) {
      fail(`cannot read speaker info '${infoPath}' (${e instanceof Error ? e.message : e})`);
    }
  }
  const speakers: string[] = [];
  for await (const d of Deno.readDir(audioRoot)) if (d.isDirectory) speakers.push(d.name);
  speakers.sort();
  const rows: SourceEntry[] = [];
  for (const speaker of speakers) {
    const files: string[] = [];
    for await (const f of Deno.readDir(`${audioRoot}/${speaker}`)) {
      const p = `${audioRoot}/${speaker}/${f.name}`;
      if (
        f.isFile && AUDIO_FILE_PATTERN.test(f.name) && (!options.match || options.match.test(p))
      ) {
        files.push(p);
      }
    }
    files.sort();
    const meta = info?.get(speaker);
    for (const p of files) {
      const values: LabelValues = { speaker };
      if (info) {
        values.gender = meta?.gender || null;
        values.accent = meta?.accent || null;
      }
      rows.push({ path: p, values, origin: p });
    }
  }
  if (rows.length === 0) fail("no audio files (.wav, .flac, .mp3, .ogg) in speaker folders");
  return finish(root, rows, options.schema, options);
}
