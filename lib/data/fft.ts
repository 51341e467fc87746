/**
 * A radix-2 complex FFT and the short-time transforms Griffin-Lim needs.
 *
 * meyda computes the forward magnitude spectrogram; Griffin-Lim also needs
 * the phase and the inverse, which meyda does not provide, so this module has
 * its own transform. The tests check its magnitudes against meyda's.
 *
 * @module
 */

interface FftPlan {
  n: number;
  rev: Uint32Array;
  cos: Float64Array;
  sin: Float64Array;
}

const plans = new Map<number, FftPlan>();

function plan(n: number): FftPlan {
  let p = plans.get(n);
  if (p) return p;
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
  p = { n, rev, cos, sin };
  plans.set(n, p);
  return p;
}

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

/** The symmetric Hann window meyda uses (`hanning`): 0.5 - 0.5 cos(2πi/(n-1)). */
export function hannWindow(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
  return w;
}

/** A complex STFT: `re`/`im` laid out `[bins x frames]` (bin-major). */
export interface ComplexStft {
  re: Float64Array;
  im: Float64Array;
  bins: number;
  frames: number;
}

/**
 * Centered STFT (frame `t` covers samples `t*hop - frame/2 ...`, zero-padded),
 * keeping bins `0 .. frame/2 - 1` (Nyquist dropped).
 */
export function stft(
  signal: ArrayLike<number>,
  frame: number,
  hop: number,
  frames: number,
): ComplexStft {
  const bins = frame / 2;
  const w = hannWindow(frame);
  const re = new Float64Array(bins * frames), im = new Float64Array(bins * frames);
  const fr = new Float64Array(frame), fi = new Float64Array(frame);
  const n = signal.length;
  for (let t = 0; t < frames; t++) {
    const start = t * hop - frame / 2;
    for (let i = 0; i < frame; i++) {
      const j = start + i;
      fr[i] = j >= 0 && j < n ? signal[j]! * w[i]! : 0;
      fi[i] = 0;
    }
    fft(fr, fi);
    for (let k = 0; k < bins; k++) {
      re[k * frames + t] = fr[k]!;
      im[k * frames + t] = fi[k]!;
    }
  }
  return { re, im, bins, frames };
}

/**
 * Inverse of {@linkcode stft} by weighted overlap-add (least-squares estimate
 * of the signal whose STFT is closest to the given one). The Nyquist bin,
 * dropped by `stft`, is taken as zero.
 */
export function istft(spec: ComplexStft, hop: number, length: number): Float64Array {
  const { bins, frames } = spec;
  const frame = bins * 2;
  const w = hannWindow(frame);
  const out = new Float64Array(length), norm = new Float64Array(length);
  const fr = new Float64Array(frame), fi = new Float64Array(frame);
  for (let t = 0; t < frames; t++) {
    for (let k = 0; k < bins; k++) {
      fr[k] = spec.re[k * frames + t]!;
      fi[k] = spec.im[k * frames + t]!;
    }
    fr[bins] = 0;
    fi[bins] = 0;
    for (let k = 1; k < bins; k++) {
      fr[frame - k] = fr[k]!;
      fi[frame - k] = -fi[k]!;
    }
    fi[0] = 0;
    fft(fr, fi, true);
    const start = t * hop - frame / 2;
    for (let i = 0; i < frame; i++) {
      const j = start + i;
      if (j < 0 || j >= length) continue;
      out[j] = out[j]! + fr[i]! * w[i]!;
      norm[j] = norm[j]! + w[i]! * w[i]!;
    }
  }
  for (let j = 0; j < length; j++) if (norm[j]! > 1e-8) out[j] = out[j]! / norm[j]!;
  return out;
}
