/**
 * `deno task classifier [--rate 8000] [--size 64] [--architecture tdnn] [--steps 300] [--widths 64,64]`
 *
 * Trains the independent speaker classifier the diagnostics use
 * (`lib/eval/speaker_classifier.ts`) on the built-in corpus's training split
 * (fresh random crops of whole utterances, as the probe does) and prints its
 * accuracy on crops of the held-out sentences (4 seeded random crops per
 * utterance) and the training time: how far its verdict on converted speech
 * can be trusted at these features.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { initBackend } from "../lib/backend/init.ts";
import { loadDemoCorpus } from "../lib/data/dataset.ts";
import { sliceFrames } from "../lib/data/segments.ts";
import { splitDataset } from "../lib/data/split.ts";
import { spectrogramsToTensor } from "../lib/data/tensors.ts";
import { SpeakerClassifier } from "../lib/eval/speaker_classifier.ts";
import { Rng } from "../lib/random.ts";

const USAGE = `Usage: deno task classifier [options]

Train the diagnostics' independent speaker classifier on the built-in corpus's
training split and print its accuracy on held-out sentences.

Options:
  --rate <hz>           sample rate of the features (default: 8000)
  --size <n>            bins and frames of a crop (default: 64)
  --architecture <a>    tdnn, cnn or pooled (default: tdnn)
  --steps <n>           training steps (default: 300)
  --widths <a,b,…>      conv widths (default: the architecture's)
  --threads <n>         wasm threads (default: 1)
  --help                show this help`;

if (import.meta.main) {
  const { values: v } = parseArgs({
    args: Deno.args,
    options: {
      rate: { type: "string", default: "8000" },
      size: { type: "string", default: "64" },
      architecture: { type: "string", default: "tdnn" },
      steps: { type: "string", default: "300" },
      widths: { type: "string" },
      threads: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
  });
  if (v.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const architecture = v.architecture as "tdnn" | "cnn" | "pooled";
  if (!["tdnn", "cnn", "pooled"].includes(architecture)) {
    console.error(`classifier: unknown architecture '${v.architecture}' (tdnn, cnn or pooled)`);
    Deno.exit(1);
  }
  await initBackend({ backend: "wasm", threads: Number(v.threads) });
  const size = Number(v.size);
  const ds = await loadDemoCorpus({
    features: { bins: size, segmentFrames: size, sampleRate: Number(v.rate) },
  });
  const { train, test, testKeys } = splitDataset(ds, { heldOut: 0.25, seed: 0 });
  const speakers = ds.valuesOf("speaker");
  const classOf = (i: { values: Record<string, unknown> }) =>
    speakers.indexOf(i.values.speaker as string);
  const rng = new Rng(1);
  const crops = test.items.flatMap((it) => {
    const s = it.spectrogram();
    return Array.from(
      { length: 4 },
      () => sliceFrames(s, s.frames > size ? rng.int(s.frames - size + 1) : 0, size),
    );
  });
  const labels = test.items.flatMap((it) => Array(4).fill(classOf(it)) as number[]);
  const x = spectrogramsToTensor(crops);
  const t0 = performance.now();
  const clf = SpeakerClassifier.trainOnUtterances(
    train.items.map((i) => i.spectrogram()),
    train.items.map(classOf),
    {
      cropFrames: size,
      steps: Number(v.steps),
      architecture,
      ...(v.widths ? { widths: v.widths.split(",").map(Number) } : {}),
    },
  );
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `${architecture} at ${v.rate} Hz, ${size}×${size}: trained on ${train.size} utterances in ${
      seconds.toFixed(1)
    } s; accuracy on ${crops.length} crops of held-out sentences (${testKeys.join(", ")}): ${
      clf.accuracy(x, labels).toFixed(3)
    }`,
  );
}
