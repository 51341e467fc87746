/**
 * The on-disk spectrogram cache.
 *
 * A spectrogram is stored at `<dir>/<featureKey>/<contentKey>.vxs`, where
 * `featureKey` hashes the feature config and `contentKey` hashes the audio
 * file's bytes: a changed file or a changed config misses the cache and is
 * recomputed. Files are written atomically, so an interrupted run never
 * leaves a half-written entry.
 *
 * File format (little-endian): `"VXS1"`, u32 bins, u32 frames, f32 seconds of
 * source audio, then `bins * frames` float32 values, bin-major.
 *
 * @module
 */

import type { FeatureConfig, Spectrogram } from "./spectrogram.ts";
import { writeFileAtomic } from "./wav.ts";

/**
 * The user's voxlab cache directory: `$XDG_CACHE_HOME/voxlab`, else
 * `~/.cache/voxlab`.
 */
export function userCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return `${xdg}/voxlab`;
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (!home) return `${Deno.cwd()}/.cache/voxlab`;
  return `${home}/.cache/voxlab`;
}

async function sha256Hex(bytes: Uint8Array, chars: number): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>),
  );
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("").slice(0, chars);
}

/**
 * A short hash of a feature config: every field that shapes the stored
 * spectrograms counts; `segmentFrames` (the crop width, applied after the
 * cache) does not, so a new segment width reuses the cache.
 */
export async function featureKey(features: FeatureConfig): Promise<string> {
  const { segmentFrames: _crop, ...stored } = features;
  const canonical = JSON.stringify(
    Object.fromEntries(Object.entries(stored).sort(([a], [b]) => a.localeCompare(b))),
  );
  return await sha256Hex(new TextEncoder().encode(canonical), 16);
}

/** A hash of a file's bytes. */
export async function contentKey(bytes: Uint8Array): Promise<string> {
  return await sha256Hex(bytes, 32);
}

/** A cached spectrogram and the duration of the audio it came from. */
export interface CachedSpectrogram extends Spectrogram {
  /** Seconds of source audio. */
  seconds: number;
}

/** Serialise a spectrogram in the cache format. */
export function encodeCached(spec: CachedSpectrogram): Uint8Array {
  const out = new Uint8Array(16 + 4 * spec.data.length);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode("VXS1"), 0);
  view.setUint32(4, spec.bins, true);
  view.setUint32(8, spec.frames, true);
  view.setFloat32(12, spec.seconds, true);
  new Float32Array(out.buffer, 16).set(spec.data);
  return out;
}

/** Parse the cache format; `null` when the bytes are not a valid entry. */
export function decodeCached(bytes: Uint8Array): CachedSpectrogram | null {
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 4)) !== "VXS1") return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bins = view.getUint32(4, true), frames = view.getUint32(8, true);
  if (bytes.length !== 16 + 4 * bins * frames) return null;
  const data = new Float32Array(bins * frames);
  data.set(new Float32Array(bytes.slice(16).buffer));
  return { data, bins, frames, seconds: view.getFloat32(12, true) };
}

/**
 * Spectrograms on disk for one feature config.
 *
 * @example
 * ```ts
 * import { resolveFeatures, SpectrogramCache } from "./mod.ts";
 * const dir = await Deno.makeTempDir();
 * const cache = await SpectrogramCache.open(dir, resolveFeatures({ bins: 4 }));
 * await cache.write("abc", { data: new Float32Array(8), bins: 4, frames: 2, seconds: 0.1 });
 * console.assert(cache.read("abc")?.frames === 2);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export class SpectrogramCache {
  /** The directory holding this config's entries. */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Open (creating if needed) the cache for `features` under `root`. */
  static async open(root: string, features: FeatureConfig): Promise<SpectrogramCache> {
    const dir = `${root}/${await featureKey(features)}`;
    await Deno.mkdir(dir, { recursive: true });
    return new SpectrogramCache(dir);
  }

  /** The file of an entry. */
  pathOf(key: string): string {
    return `${this.dir}/${key}.vxs`;
  }

  /** Read an entry synchronously; `null` when missing or invalid. */
  read(key: string): CachedSpectrogram | null {
    try {
      return decodeCached(Deno.readFileSync(this.pathOf(key)));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
  }

  /** Read only an entry's header (sizes and duration); `null` when missing or invalid. */
  readHeader(key: string): { bins: number; frames: number; seconds: number } | null {
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(this.pathOf(key));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return null;
      throw e;
    }
    try {
      const head = new Uint8Array(16);
      if (file.readSync(head) !== 16 || new TextDecoder().decode(head.subarray(0, 4)) !== "VXS1") {
        return null;
      }
      const view = new DataView(head.buffer);
      const bins = view.getUint32(4, true), frames = view.getUint32(8, true);
      if (file.statSync().size !== 16 + 4 * bins * frames) return null;
      return { bins, frames, seconds: view.getFloat32(12, true) };
    } finally {
      file.close();
    }
  }

  /** Write an entry atomically. */
  async write(key: string, spec: CachedSpectrogram): Promise<void> {
    await writeFileAtomic(this.pathOf(key), encodeCached(spec));
  }
}
