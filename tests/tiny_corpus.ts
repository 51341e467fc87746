/**
 * Test fixture: a tiny labelled corpus of synthetic voices written as WAV
 * files with a CSV manifest, and the `--set` overrides that shrink an
 * experiment to test size.
 *
 * @module
 */
import { encodeWav } from "../lib/data/wav.ts";

/** `--set` overrides for test-size runs: 16×16 spectrograms, tiny models. */
export const TINY_SET: readonly string[] = [
  "data.features.bins=16",
  "data.features.segmentFrames=16",
  "model.generator.widths=[2, 4, 4]",
  "model.generator.resBlocks=1",
  "model.discriminator.widths=[2, 4, 4, 4]",
  "model.discriminator.featureLayer=3",
  "trainer.sampleEvery=2",
];

/**
 * `deno task train` flags for a test-size run on the cpu backend: the corpus
 * at `manifest`, {@linkcode TINY_SET}, then `extra`.
 */
export function tinyTrainArgs(manifest: string, extra: string[] = []): string[] {
  return [
    "--backend",
    "cpu",
    "--data",
    manifest,
    ...TINY_SET.flatMap((s) => ["--set", s]),
    ...extra,
  ];
}

/**
 * Write `count` utterances from 3 speakers (harmonic tones with
 * speaker-specific pitch and vibrato, 0.4 s at 16 kHz) and `manifest.csv`
 * into a new temp folder; returns the manifest's path.
 */
export async function writeTinyCorpus(count = 12): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-tiny-" });
  const speakers = [
    { name: "s1", gender: "f", f0: 220 },
    { name: "s2", gender: "m", f0: 110 },
    { name: "s3", gender: "", f0: 160 },
  ];
  const rows = ["path,speaker,gender"];
  const rate = 16000;
  for (let i = 0; i < count; i++) {
    const sp = speakers[i % speakers.length]!;
    const samples = new Float32Array(Math.round(0.4 * rate));
    for (let t = 0; t < samples.length; t++) {
      const f0 = sp.f0 * (1 + 0.03 * Math.sin(2 * Math.PI * (3 + i) * t / rate));
      let v = 0;
      for (let h = 1; h <= 6; h++) v += Math.sin(2 * Math.PI * f0 * h * t / rate) / h;
      samples[t] = 0.2 * v * (0.6 + 0.4 * Math.sin(Math.PI * t / samples.length));
    }
    const name = `u${i}.wav`;
    await Deno.writeFile(`${dir}/${name}`, encodeWav({ samples, sampleRate: rate }));
    rows.push(`${name},${sp.name},${sp.gender}`);
  }
  await Deno.writeTextFile(`${dir}/manifest.csv`, rows.join("\n") + "\n");
  return `${dir}/manifest.csv`;
}
