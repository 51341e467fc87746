/**
 * Seeded randomness shared by weight initialisation and data order.
 *
 * One seed gives the same initial weights and the same batches on the same
 * backend: every random draw in voxlab goes through a {@linkcode Rng}, never
 * through `Math.random` or tfjs's unseeded ops. The generator is sfc32
 * (a small, fast, well-tested 128-bit-state PRNG); its state can be exported
 * into a checkpoint and restored, so a resumed run draws the same numbers as
 * an uninterrupted one.
 *
 * @module
 */

/**
 * The exported state of an {@linkcode Rng}: four unsigned 32-bit words, then
 * the cached second normal sample when there is one.
 */
export type RngState =
  | [number, number, number, number]
  | [number, number, number, number, number];

/** Hash a string to a 32-bit seed (FNV-1a). */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A seeded pseudo-random number generator (sfc32).
 *
 * @example Same seed, same numbers
 * ```ts
 * import { Rng } from "./random.ts";
 * import { equal } from "node:assert/strict";
 * const a = new Rng(42), b = new Rng(42);
 * equal(a.uniform(), b.uniform());
 * ```
 */
export class Rng {
  #s: Uint32Array = new Uint32Array(4);
  #spareNormal: number | null = null;

  /** Create a generator from an integer or string seed. */
  constructor(seed: number | string = 0) {
    const s = typeof seed === "string" ? hashString(seed) : seed >>> 0;
    this.#s[0] = 0x9e3779b9;
    this.#s[1] = 0x243f6a88;
    this.#s[2] = 0xb7e15162;
    this.#s[3] = s;
    for (let i = 0; i < 15; i++) this.nextUint32();
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    const s = this.#s;
    const t = (((s[0]! + s[1]!) >>> 0) + s[3]!) >>> 0;
    s[3] = (s[3]! + 1) >>> 0;
    s[0] = s[1]! ^ (s[1]! >>> 9);
    s[1] = (s[2]! + (s[2]! << 3)) >>> 0;
    s[2] = ((s[2]! << 21) | (s[2]! >>> 11)) >>> 0;
    s[2] = (s[2]! + t) >>> 0;
    return t;
  }

  /** A float uniform in [0, 1). */
  uniform(): number {
    return this.nextUint32() / 4294967296;
  }

  /** An integer uniform in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) {
      throw new RangeError(`Cannot draw an integer below ${n}: expected a positive integer`);
    }
    return Math.floor(this.uniform() * n);
  }

  /** A standard normal sample (Box–Muller, caching the second value). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const v = this.#spareNormal;
      this.#spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fill a new Float32Array with normal samples of the given standard deviation. */
  normalArray(size: number, std = 1, mean = 0): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = mean + std * this.normal();
    return out;
  }

  /** Fill a new Float32Array with uniform samples in [low, high). */
  uniformArray(size: number, low = 0, high = 1): Float32Array {
    const out = new Float32Array(size);
    for (let i = 0; i < size; i++) out[i] = low + (high - low) * this.uniform();
    return out;
  }

  /** Shuffle an array in place (Fisher–Yates) and return it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }

  /** An independent generator derived from this one's seed stream and a label. */
  fork(label: string): Rng {
    return new Rng((this.nextUint32() ^ hashString(label)) >>> 0);
  }

  /** The generator's state, for checkpoints. */
  getState(): RngState {
    // Reading the state leaves the stream as it is: the cached normal goes with it.
    const words: [number, number, number, number] = [
      this.#s[0]!,
      this.#s[1]!,
      this.#s[2]!,
      this.#s[3]!,
    ];
    return this.#spareNormal === null ? words : [...words, this.#spareNormal];
  }

  /** Restore a state from {@linkcode Rng.getState}. */
  setState(state: RngState): void {
    if (
      !Array.isArray(state) || (state.length !== 4 && state.length !== 5) ||
      state.slice(0, 4).some((v) => !Number.isInteger(v)) ||
      (state.length === 5 && !Number.isFinite(state[4]))
    ) {
      throw new TypeError(
        `Cannot restore RNG state: expected 4 integers and an optional cached normal, got ${
          JSON.stringify(state)
        }`,
      );
    }
    for (let i = 0; i < 4; i++) this.#s[i] = state[i]! >>> 0;
    this.#spareNormal = state.length === 5 ? state[4] : null;
  }
}
