/**
 * voxlab's one FFT: a radix-2 complex FFT and the short-time transforms. The
 * spectrograms are the magnitudes of {@linkcode stft}; Griffin-Lim also uses
 * its phase and the inverse {@linkcode istft}. The tests check the
 * magnitudes against a direct DFT.
 *
 * @module
 */

interface FftPlan {
  n: number;
  rev: Uint32Array;
  cos: Float64Array;
  sin: Float64Array;
}

/** `make`, computed once per size. */
function perSize<T>(make: (n: number) => T): (n: number) => T {
  const cache = new Map<number, T>();
  return (n) => {
    let v = cache.get(n);
    if (v === undefined) cache.set(n, v = make(n));
    return v;
  };
}

const plan = perSize((n: number): FftPlan => {
  if (!Number.isInteger(Math.log2(n)) || n < 2) {
    throw new RangeError(`Cannot plan an FFT of size ${n}: expected a power of two`);
  }
  const bitsN = Math.log2(n);
  const rev = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    let r = 0;
    for (let b = 0; b < bitsN; b++) r |= ((i >> b) & 1) << (bitsN - 1 - b);
    rev[i] = r;
  }
  const cos = new Float64Array(n / 2), sin = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    cos[k] = Math.cos((2 * Math.PI * k) / n);
    sin[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  return { n, rev, cos, sin };
});

/**
 * In-place complex FFT of `re`/`im` (length a power of two). With `inverse`,
 * computes the inverse transform including the 1/n scale.
 */
export function fft(re: Float64Array, im: Float64Array, inverse = false): void {
  const n = re.length;
  const { rev, cos, sin } = plan(n);
  for (let i = 0; i < n; i++) {
    const j = rev[i]!;
    if (j > i) {
      const tr = re[i]!, ti = im[i]!;
      re[i] = re[j]!;
      im[i] = im[j]!;
      re[j] = tr;
      im[j] = ti;
    }
  }
  const sign = inverse ? -1 : 1;
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1, step = n / size;
    for (let start = 0; start < n; start += size) {
      for (let k = 0; k < half; k++) {
        const wr = cos[k * step]!, wi = sign * sin[k * step]!;
        const a = start + k, b = a + half;
        const xr = re[b]! * wr - im[b]! * wi;
        const xi = re[b]! * wi + im[b]! * wr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i] = re[i]! / n;
      im[i] = im[i]! / n;
    }
  }
}

/** The symmetric Hann window: 0.5 - 0.5 cos(2πi/(n-1)) (meyda's `hanning`, which the spectrograms used before). */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return w;
}

/** A complex STFT: `re`/`im` laid out `[bins x frames]` (bin-major). */
export interface ComplexStft {
  /** Real parts, `re[bin * frames + frame]`. */
  re: Float64Array;
  /** Imaginary parts, laid out as `re`. */
  im: Float64Array;
  /** Frequency bins: `frame / 2`, the Nyquist bin dropped. */
  bins: number;
  /** Frames. */
  frames: number;
}

const cachedHann = perSize(hannWindow);

/**
 * Centered STFT (frame `t` covers samples `t*hop - frame/2 ...`, zero-padded),
 * keeping bins `0 .. frame/2 - 1` (Nyquist dropped).
 *
 * Two real frames go through one complex FFT (one as the real part, one as
 * the imaginary part) and are separated by conjugate symmetry.
 */
export function stft(
  signal: ArrayLike<number>,
  frame: number,
  hop: number,
  frames: number,
): ComplexStft {
  const bins = frame / 2;
  const w = cachedHann(frame);
  const re = new Float64Array(bins * frames), im = new Float64Array(bins * frames);
  const fr = new Float64Array(frame), fi = new Float64Array(frame);
  const n = signal.length;
  const load = (t: number, out: Float64Array) => {
    const start = t * hop - frame / 2;
    for (let i = 0; i < frame; i++) {
      const j = start + i;
      out[i] = t < frames && j >= 0 && j < n ? signal[j]! * w[i]! : 0;
    }
  };
  for (let t = 0; t < frames; t += 2) {
    load(t, fr);
    load(t + 1, fi);
    fft(fr, fi);
    // Z = X + iY with x, y real: X[k] = (Z[k] + conj Z[N-k]) / 2, Y[k] = (Z[k] - conj Z[N-k]) / 2i.
    for (let k = 0; k < bins; k++) {
      const m = k === 0 ? 0 : frame - k;
      const zr = fr[k]!, zi = fi[k]!, cr = fr[m]!, ci = -fi[m]!;
      re[k * frames + t] = (zr + cr) / 2;
      im[k * frames + t] = (zi + ci) / 2;
      if (t + 1 < frames) {
        re[k * frames + t + 1] = (zi - ci) / 2;
        im[k * frames + t + 1] = -(zr - cr) / 2;
      }
    }
  }
  return { re, im, bins, frames };
}

/**
 * Inverse of {@linkcode stft} by weighted overlap-add (least-squares estimate
 * of the signal whose STFT is closest to the given one). The Nyquist bin,
 * dropped by `stft`, is taken as zero.
 *
 * Two frames share one inverse FFT: with both spectra Hermitian, the inverse
 * of `X + iY` has `x` as its real part and `y` as its imaginary part.
 */
export function istft(spec: ComplexStft, hop: number, length: number): Float64Array {
  const { bins, frames } = spec;
  const frame = bins * 2;
  const w = cachedHann(frame);
  const out = new Float64Array(length), norm = new Float64Array(length);
  const fr = new Float64Array(frame), fi = new Float64Array(frame);
  const add = (t: number, values: Float64Array) => {
    const start = t * hop - frame / 2;
    for (let i = 0; i < frame; i++) {
      const j = start + i;
      if (j < 0 || j >= length) continue;
      out[j] = out[j]! + values[i]! * w[i]!;
      norm[j] = norm[j]! + w[i]! * w[i]!;
    }
  };
  for (let t = 0; t < frames; t += 2) {
    const two = t + 1 < frames;
    // Full Hermitian spectra X (frame t) and Y (frame t+1); Z = X + iY.
    for (let k = 0; k <= bins; k++) {
      const xr = k < bins ? spec.re[k * frames + t]! : 0;
      const xi = k < bins && k > 0 ? spec.im[k * frames + t]! : 0;
      const yr = two && k < bins ? spec.re[k * frames + t + 1]! : 0;
      const yi = two && k < bins && k > 0 ? spec.im[k * frames + t + 1]! : 0;
      // Z[k] = X[k] + i Y[k]; Z[N-k] = conj X[k] + i conj Y[k].
      fr[k] = xr - yi;
      fi[k] = xi + yr;
      if (k > 0 && k < bins) {
        fr[frame - k] = xr + yi;
        fi[frame - k] = -xi + yr;
      }
    }
    fft(fr, fi, true);
    add(t, fr);
    if (two) add(t + 1, fi);
  }
  for (let j = 0; j < length; j++) if (norm[j]! > 1e-8) out[j] = out[j]! / norm[j]!;
  return out;
}
