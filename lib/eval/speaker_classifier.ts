/**
 * A small speaker classifier trained on real spectrograms, independent of the
 * GAN's discriminator, to score converted outputs: "does the converted
 * utterance sound like its target speaker to a classifier that never saw a
 * generator?".
 *
 * Architecture (deliberately tiny, it trains in seconds):
 *
 * - features: for each frequency bin, the mean and the standard deviation of
 *   the [0, 1] spectrogram over time — the speaker's long-term spectral
 *   envelope and its variability — `[B, 2·H]`, standardised with the training
 *   set's per-feature mean and deviation;
 * - one hidden layer (ReLU), then a linear layer to one logit per speaker;
 * - softmax cross-entropy, Adam, full-batch, seeded initialisation.
 *
 * @module
 */

import { tf } from "../deps.ts";
import { Rng } from "../random.ts";

/** Options for {@linkcode SpeakerClassifier.train}. */
export interface SpeakerClassifierOptions {
  /**
   * Hidden units.
   * @default {64}
   */
  hidden?: number;
  /**
   * Full-batch training steps.
   * @default {300}
   */
  steps?: number;
  /**
   * Adam learning rate.
   * @default {0.01}
   */
  learningRate?: number;
  /**
   * L2 weight decay added to the loss (λ·Σw²).
   * @default {1e-4}
   */
  weightDecay?: number;
  /**
   * Seed of the weight initialisation.
   * @default {0}
   */
  seed?: number;
  /**
   * Class names, one per class index (for messages and reports).
   * @default {["0", "1", …]}
   */
  classNames?: readonly string[];
}

/** Pooled features `[B, 2H]`: per-bin mean and standard deviation over time. */
function pooledFeatures(x: tf.Tensor4D): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [2]); // [B, H, 1] each
    const b = x.shape[0];
    return tf.concat([
      tf.reshape(mean, [b, -1]),
      tf.reshape(tf.sqrt(tf.add(variance, 1e-8)), [b, -1]),
    ], 1) as tf.Tensor2D;
  });
}

/**
 * A trained speaker classifier. `predict` fits the diagnostics'
 * `ClassifierFn`, so it can score converted outputs with `conversionAccuracy`.
 *
 * @example Separate two synthetic speakers
 * ```ts
 * import { tf } from "../deps.ts";
 * import { initBackend } from "../backend/mod.ts";
 * import { SpeakerClassifier } from "./speaker_classifier.ts";
 * await initBackend({ backend: "cpu", quiet: true });
 * // Speaker 0 is loud in the low half of the bins, speaker 1 in the high half.
 * const low = tf.concat([tf.fill([4, 4, 8, 1], 0.9), tf.fill([4, 4, 8, 1], 0.1)], 1);
 * const high = tf.reverse(low, 1);
 * const x = tf.concat([low, high]) as tf.Tensor4D;
 * const clf = SpeakerClassifier.train(x, [0, 0, 0, 0, 1, 1, 1, 1], { steps: 50 });
 * console.assert(clf.accuracy(x, [0, 0, 0, 0, 1, 1, 1, 1]) === 1);
 * clf.dispose();
 * ```
 */
export class SpeakerClassifier {
  /** Number of speakers. */
  readonly nClasses: number;
  /** Class names by index. */
  readonly classNames: readonly string[];
  /** Spectrogram height (bins) it was trained on. */
  readonly bins: number;
  /** Cross-entropy on the training set after the last step. */
  readonly trainLoss: number;
  #vars: tf.Variable[];
  #mu: tf.Tensor;
  #sigma: tf.Tensor;

  private constructor(
    vars: tf.Variable[],
    norm: [tf.Tensor, tf.Tensor],
    info: { nClasses: number; classNames: readonly string[]; bins: number; trainLoss: number },
  ) {
    this.#vars = vars;
    [this.#mu, this.#sigma] = norm;
    this.nClasses = info.nClasses;
    this.classNames = info.classNames;
    this.bins = info.bins;
    this.trainLoss = info.trainLoss;
  }

  /**
   * Train on real spectrograms `x` `[N, H, W, 1]` with speaker indices `labels`.
   *
   * @throws {RangeError} when labels and samples disagree, or a label is out of range.
   */
  static train(
    x: tf.Tensor4D,
    labels: readonly number[],
    options: SpeakerClassifierOptions = {},
  ): SpeakerClassifier {
    const n = x.shape[0];
    if (x.rank !== 4 || x.shape[3] !== 1) {
      throw new TypeError(
        `Cannot train speaker classifier: expected spectrograms [N, H, W, 1], got [${
          x.shape.join(", ")
        }]`,
      );
    }
    if (labels.length !== n) {
      throw new RangeError(
        `Cannot train speaker classifier: ${n} spectrograms but ${labels.length} labels`,
      );
    }
    const nClasses = options.classNames?.length ?? Math.max(...labels) + 1;
    const bad = labels.find((l) => !Number.isInteger(l) || l < 0 || l >= nClasses);
    if (bad !== undefined) {
      throw new RangeError(
        `Cannot train speaker classifier: label ${bad} is outside 0..${nClasses - 1}`,
      );
    }
    if (nClasses < 2) {
      throw new RangeError(`Cannot train speaker classifier: need at least 2 speakers`);
    }
    const hidden = options.hidden ?? 64;
    const steps = options.steps ?? 300;
    const decay = options.weightDecay ?? 1e-4;
    const rng = new Rng(options.seed ?? 0);
    const bins = x.shape[1];
    const d = 2 * bins;

    const feats = pooledFeatures(x);
    const [mu, sigma] = tf.tidy(() => {
      const { mean, variance } = tf.moments(feats, 0);
      return [mean, tf.sqrt(tf.add(variance, 1e-6))];
    });
    const z = tf.tidy(() => tf.div(tf.sub(feats, mu!), sigma!)) as tf.Tensor2D;
    feats.dispose();
    const onehot = tf.tidy(() => tf.oneHot(tf.tensor1d([...labels], "int32"), nClasses));

    // He-normal initialisation from the seeded Rng (tidy frees the initial values).
    const [w1, b1, w2, b2] = tf.tidy(() => [
      tf.variable(tf.tensor2d(rng.normalArray(d * hidden, Math.sqrt(2 / d)), [d, hidden])),
      tf.variable(tf.zeros([hidden])),
      tf.variable(
        tf.tensor2d(rng.normalArray(hidden * nClasses, Math.sqrt(2 / hidden)), [hidden, nClasses]),
      ),
      tf.variable(tf.zeros([nClasses])),
    ]) as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    const vars = [w1, b1, w2, b2];
    const logitsOf = (f: tf.Tensor2D) =>
      tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(f, w1), b1)), w2), b2);
    const optimizer = tf.train.adam(options.learningRate ?? 0.01);
    let trainLoss = NaN;
    for (let s = 0; s < steps; s++) {
      const loss = optimizer.minimize(
        () => {
          const ce = tf.losses.softmaxCrossEntropy(onehot, logitsOf(z));
          const l2 = tf.mul(decay, tf.add(tf.sum(tf.square(w1)), tf.sum(tf.square(w2))));
          return tf.add(ce, l2) as tf.Scalar;
        },
        s === steps - 1,
        vars,
      );
      if (loss) {
        trainLoss = loss.dataSync()[0]!;
        loss.dispose();
      }
    }
    optimizer.dispose();
    tf.dispose([z, onehot]);
    const classNames = options.classNames ?? Array.from({ length: nClasses }, (_, i) => String(i));
    return new SpeakerClassifier(vars, [mu!, sigma!], { nClasses, classNames, bins, trainLoss });
  }

  /** Logits `[B, nClasses]` for spectrograms `[B, H, W, 1]`. */
  predict(x: tf.Tensor4D): tf.Tensor2D {
    if (x.rank !== 4 || x.shape[1] !== this.bins || x.shape[3] !== 1) {
      throw new TypeError(
        `Cannot classify speakers: expected spectrograms [B, ${this.bins}, W, 1], got [${
          x.shape.join(", ")
        }]`,
      );
    }
    const [w1, b1, w2, b2] = this.#vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    return tf.tidy(() => {
      const z = tf.div(tf.sub(pooledFeatures(x), this.#mu), this.#sigma);
      return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(z, w1), b1)), w2), b2) as tf.Tensor2D;
    });
  }

  /** Fraction of `x` classified as `labels`. */
  accuracy(x: tf.Tensor4D, labels: readonly number[]): number {
    if (labels.length !== x.shape[0]) {
      throw new RangeError(
        `Cannot measure accuracy: ${x.shape[0]} spectrograms but ${labels.length} labels`,
      );
    }
    const predicted = tf.tidy(() => tf.argMax(this.predict(x), 1).dataSync());
    let hits = 0;
    predicted.forEach((p, i) => {
      if (p === labels[i]) hits++;
    });
    return hits / labels.length;
  }

  /** Free the weights. */
  dispose(): void {
    tf.dispose([...this.#vars, this.#mu, this.#sigma]);
  }
}
