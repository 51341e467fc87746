import { deepEqual, equal, match, ok, rejects, throws } from "node:assert/strict";
import { initBackend } from "../mod.ts";
import { readAudioFile } from "../lib/data/decode.ts";
import { LabelSchema } from "../lib/data/labels.ts";
import { magnitudeSpectrogram, resolveFeatures } from "../lib/data/spectrogram.ts";
import { spectralConvergence } from "../lib/data/griffin_lim.ts";
import { writeWavFile } from "../lib/data/wav.ts";
import {
  ConvertError,
  convertFiles,
  listAudioInputs,
  parseTarget,
  targetLabels,
  targetSuffix,
} from "../lib/eval/convert.ts";
import { measureLevel } from "../lib/eval/levels.ts";
import { loadRunGenerator } from "../lib/runs/load_run.ts";
import { main as convertMain } from "../tasks/convert.ts";
import { applyOverrides } from "../lib/experiment/overrides.ts";
import { trainExperiment } from "../lib/runs/train.ts";
import ablation from "../experiments/9ada9179.ts";
import { TINY_SET } from "./tiny_corpus.ts";

await initBackend({ backend: "cpu", quiet: true });

/** A harmonic "voice": f0 with 5 harmonics and a slow vibrato. */
function voice(f0: number, seconds: number, rate: number): Float32Array {
  const out = new Float32Array(Math.round(seconds * rate));
  let phase = 0;
  for (let t = 0; t < out.length; t++) {
    phase += 2 * Math.PI * f0 * (1 + 0.02 * Math.sin(2 * Math.PI * 4 * t / rate)) / rate;
    let v = 0;
    for (let h = 1; h <= 5; h++) v += Math.sin(h * phase) / h;
    out[t] = 0.2 * v;
  }
  return out;
}

const SCHEMA = new LabelSchema([
  { name: "speaker", values: ["s1", "s2", "s3"] },
  { name: "gender", values: ["f", "m"] },
]);

Deno.test("parseTarget names the unknown attribute or value and lists the valid ones", () => {
  deepEqual(parseTarget("speaker=s2", SCHEMA), { speaker: "s2" });
  deepEqual(parseTarget(" speaker=s1 , gender=m ", SCHEMA), { speaker: "s1", gender: "m" });
  throws(
    () => parseTarget("speaker=zz", SCHEMA),
    /^ConvertError: Cannot use target 'speaker=zz': unknown speaker 'zz'; valid values: s1, s2, s3$/,
  );
  throws(
    () => parseTarget("voice=a", SCHEMA),
    /unknown attribute 'voice'; valid attributes: speaker, gender/,
  );
  throws(() => parseTarget("s1", SCHEMA), /expected attribute=value/);
  throws(() => parseTarget("", SCHEMA), ConvertError);
});

Deno.test("parseTarget takes label values that contain commas (issue 12: they could not be targets)", () => {
  const schema = new LabelSchema([
    { name: "speaker", values: ["smith, j.", "smith", "lee,k"] },
    { name: "gender", values: ["f", "m"] },
  ]);
  deepEqual(parseTarget("speaker=smith, j.", schema), { speaker: "smith, j." });
  deepEqual(parseTarget("speaker=smith,gender=m", schema), { speaker: "smith", gender: "m" });
  deepEqual(parseTarget("gender=f,speaker=lee,k", schema), { gender: "f", speaker: "lee,k" });
  deepEqual(parseTarget("speaker=smith, j.,gender=f", schema), {
    speaker: "smith, j.",
    gender: "f",
  });
  throws(
    () => parseTarget("speaker=lee,gender=f", schema),
    /unknown speaker 'lee'; valid values: smith, j\., smith, lee,k$/,
  );
  throws(() => parseTarget("speaker=smith,gendr=f", schema), /unknown attribute 'gendr'/);
});

Deno.test("targetLabels completes a partial target from the saved label combinations only when they agree", () => {
  const targets = [
    { speaker: "s1", gender: "f" },
    { speaker: "s2", gender: "m" },
    { speaker: "s3", gender: "f" },
  ];
  const labels = { schema: SCHEMA, targets };
  // speaker=s2 alone: every s2 combination says m.
  deepEqual([...targetLabels({ speaker: "s2" }, labels)], [0, 1, 0, 0, 1]);
  // gender=m alone: only s2 matches, so the speaker follows.
  deepEqual([...targetLabels({ gender: "m" }, labels)], [0, 1, 0, 0, 1]);
  // gender=f alone: s1 and s3 disagree, so the speaker stays unknown (zeros).
  deepEqual([...targetLabels({ gender: "f" }, labels)], [0, 0, 0, 1, 0]);
  // An explicit attribute wins; a combination never seen leaves the rest as given.
  deepEqual([...targetLabels({ speaker: "s1", gender: "m" }, labels)], [1, 0, 0, 0, 1]);
  // No saved combinations (or none for this speaker): only the given attributes are known.
  deepEqual([...targetLabels({ speaker: "s3" }, { schema: SCHEMA, targets: [] })], [0, 0, 1, 0, 0]);
  deepEqual(
    [...targetLabels({ speaker: "s3" }, { schema: SCHEMA, targets: [targets[0]!] })],
    [0, 0, 1, 0, 0],
  );
  // A combination whose value is unknown (null) never fills in.
  deepEqual(
    [...targetLabels({ speaker: "s1" }, {
      schema: SCHEMA,
      targets: [{ speaker: "s1", gender: null }],
    })],
    [1, 0, 0, 0, 0],
  );
});

Deno.test("convertFiles: an identity generator gives back audio with the input's spectrogram", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // 22.05 kHz input: resampled to the 16 kHz features.
    await writeWavFile(`${dir}/in.wav`, { samples: voice(150, 0.8, 22050), sampleRate: 22050 });
    const features = resolveFeatures({ bins: 64, segmentFrames: 32 });
    const result = await convertFiles((x) => x, {
      inputs: [`${dir}/in.wav`],
      labels: new Float32Array([1, 0]),
      outDir: `${dir}/out`,
      // As Griffin-Lim gives it: spectral convergence compares levels too.
    }, { features, width: 32, iterations: 40, progress: false, suffix: "_id", normalize: "off" });
    deepEqual(result.written.map((w) => w.path), [`${dir}/out/in_id.wav`]);
    const out = await readAudioFile(`${dir}/out/in_id.wav`);
    equal(out.sampleRate, 16000);
    equal(out.samples.length, Math.round(0.8 * 16000));
    // Spectral convergence against the 16 kHz source's magnitudes: small for the
    // converted copy, large for another voice.
    const target = magnitudeSpectrogram(voice(150, 0.8, 16000), features);
    const same = spectralConvergence(target, out.samples, features);
    const other = spectralConvergence(target, voice(190, 0.8, 16000), features);
    ok(same < 0.2, `spectral convergence ${same}`); // measured 0.144 (40 Griffin-Lim iterations)
    ok(other > 2 * same, `another voice: ${other} vs ${same}`); // measured 0.452
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("convertFiles: windows are the features' segment width unless told otherwise", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeWavFile(`${dir}/in.wav`, { samples: voice(150, 0.5, 16000), sampleRate: 16000 });
    const features = resolveFeatures({ bins: 32, segmentFrames: 16 });
    const widths = new Set<number>();
    const job = { inputs: [`${dir}/in.wav`], labels: new Float32Array([1]), outDir: dir };
    await convertFiles(
      (x) => {
        widths.add(x.shape[2]);
        return x;
      },
      job,
      { features, iterations: 1, progress: false },
    );
    deepEqual([...widths], [16]);
    widths.clear();
    await convertFiles(
      (x) => {
        widths.add(x.shape[2]);
        return x;
      },
      job,
      { features, width: 8, iterations: 1, progress: false, overwrite: true },
    );
    deepEqual([...widths], [8]);
    // Equal names in different folders keep their folders below the common one.
    for (const spk of ["a", "b"]) {
      await Deno.mkdir(`${dir}/in/${spk}`, { recursive: true });
      await writeWavFile(`${dir}/in/${spk}/001.wav`, {
        samples: voice(spk === "a" ? 120 : 200, 0.3, 16000),
        sampleRate: 16000,
      });
    }
    const both = await convertFiles((x) => x, {
      inputs: await listAudioInputs(`${dir}/in`),
      labels: new Float32Array([1]),
      outDir: `${dir}/out`,
    }, { features, iterations: 1, progress: false, suffix: "" });
    deepEqual(both.written.map((w) => w.path), [`${dir}/out/a/001.wav`, `${dir}/out/b/001.wav`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listAudioInputs: a file, a folder searched recursively, clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    for (const p of ["a/2.wav", "a/b/1.FLAC", "a/b/3.mp3", "a/4.ogg", "a/notes.txt", "0.wav"]) {
      await Deno.writeTextFile(`${dir}/${p}`, "x");
    }
    deepEqual(await listAudioInputs(`${dir}/0.wav`), [`${dir}/0.wav`]);
    deepEqual(await listAudioInputs(`${dir}/a/`), [
      `${dir}/a/2.wav`,
      `${dir}/a/4.ogg`,
      `${dir}/a/b/1.FLAC`,
      `${dir}/a/b/3.mp3`,
    ]);
    await rejects(listAudioInputs(`${dir}/missing`), /no such file or folder/);
    await Deno.mkdir(`${dir}/empty`);
    await rejects(
      listAudioInputs(`${dir}/empty`),
      /no audio files \(\.wav, \.flac, \.mp3, \.ogg\) in it/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task convert: a tiny trained run converts a folder; bad targets and runs are one-line errors", async () => {
  const dir = await Deno.makeTempDir();
  const errors: string[] = [], logs: string[] = [];
  const origError = console.error, origLog = console.log;
  try {
    // A 3-speaker manifest corpus.
    const rows = ["path,speaker,gender"];
    const speakers = [["s1", "f", 220], ["s2", "m", 110], ["s3", "f", 170]] as const;
    for (let i = 0; i < 6; i++) {
      const [spk, gender, f0] = speakers[i % 3]!;
      await writeWavFile(`${dir}/${spk}_${i}.wav`, {
        samples: voice(f0, 0.5, 16000),
        sampleRate: 16000,
      });
      rows.push(`${spk}_${i}.wav,${spk},${gender}`);
    }
    await Deno.writeTextFile(`${dir}/manifest.csv`, rows.join("\n") + "\n");
    const exp = applyOverrides(ablation, [
      `data.dataset=${dir}/manifest.csv`,
      ...TINY_SET,
      "trainer.sampleEvery=0", // no sample images: this test only needs the checkpoint
    ]);
    const trained = await trainExperiment(exp, {
      root: `${dir}/runs`,
      maxSteps: 1,
      progress: false,
      log: () => {},
    });
    // labels.json holds the schema, features and label combinations conversion needs.
    const saved = JSON.parse(await Deno.readTextFile(`${trained.runDir}/labels.json`));
    deepEqual(saved.schema.attributes.map((a: { name: string }) => a.name), ["speaker", "gender"]);
    deepEqual(saved.targets, [
      { gender: "f", speaker: "s1" },
      { gender: "m", speaker: "s2" },
      { gender: "f", speaker: "s3" },
    ]);
    // The dataset is gone: the run still loads (and converts, below) from labels.json.
    await Deno.rename(`${dir}/manifest.csv`, `${dir}/manifest.moved`);
    const notices: string[] = [];
    const run = await loadRunGenerator(trained.runDir, {
      progress: false,
      log: (l) => notices.push(l),
    });
    equal(run.iteration, 1);
    equal(run.labelsFrom, "run");
    deepEqual(notices, []);
    deepEqual(run.generator.config.widths, [2, 4, 4]);
    deepEqual(run.schema.toJSON(), saved.schema);
    equal(run.features.segmentFrames, saved.features.segmentFrames);
    run.generator.dispose();

    await Deno.mkdir(`${dir}/inputs`);
    await writeWavFile(`${dir}/inputs/a.wav`, {
      samples: voice(200, 0.6, 16000),
      sampleRate: 16000,
    });
    await writeWavFile(`${dir}/inputs/b.wav`, { samples: voice(120, 0.3, 8000), sampleRate: 8000 });
    await Deno.writeTextFile(`${dir}/inputs/broken.wav`, "not a wav");
    console.error = (m: string) => errors.push(m);
    console.log = (m: string) => logs.push(m);
    const code = await convertMain([
      `${dir}/runs/9ada9179`, // the experiment folder: its latest run
      "--input",
      `${dir}/inputs`,
      "--target",
      "speaker=s2",
      "--out",
      `${dir}/out`,
      "--iterations",
      "4",
      "--backend",
      "cpu",
    ]);
    equal(code, 0, errors.join("\n"));
    match(logs.join("\n"), /wrote 2 file\(s\)/);
    match(errors.join("\n"), /skipped '.*broken\.wav'/);
    const a = await readAudioFile(`${dir}/out/a_to_s2.wav`);
    equal(a.samples.length, Math.round(0.6 * 16000));
    ok(a.samples.every(Number.isFinite) && a.samples.some((v) => v !== 0));
    equal((await readAudioFile(`${dir}/out/b_to_s2.wav`)).samples.length, Math.round(0.3 * 16000));
    // Each output's level is reported, and the run chosen from the experiment folder is named.
    match(
      logs.join("\n"),
      /convert: .*a_to_s2\.wav: peak -?\d+\.\d dBFS, RMS -\d+\.\d dBFS \(input RMS/,
    );
    match(errors.join("\n"), /9ada9179: latest run with a checkpoint: \d{8}-\d{6}/);

    // Again into the same folder: refused before anything is written, unless --overwrite.
    const again = [
      `${dir}/runs/9ada9179`,
      ...["--input", `${dir}/inputs`, "--target", "speaker=s2", "--out", `${dir}/out`],
      ...["--iterations", "2", "--backend", "cpu"],
    ];
    const before = await Deno.stat(`${dir}/out/a_to_s2.wav`);
    errors.length = 0;
    equal(await convertMain(again), 1);
    match(
      errors.at(-1)!,
      /^convert: Cannot convert: 2 output file\(s\) exist already \(.*a_to_s2\.wav, .*b_to_s2\.wav\); pass --overwrite/,
    );
    equal((await Deno.stat(`${dir}/out/a_to_s2.wav`)).mtime?.getTime(), before.mtime?.getTime());
    equal(await convertMain([...again, "--overwrite"]), 0, errors.join("\n"));

    // --resynth alone: the input through Griffin-Lim only, at the input's level.
    logs.length = 0;
    equal(
      await convertMain([
        trained.runDir,
        ...["--input", `${dir}/inputs/a.wav`, "--resynth", "--out", `${dir}/re`],
        ...["--iterations", "8", "--backend", "cpu"],
      ]),
      0,
      errors.join("\n"),
    );
    deepEqual([...Deno.readDirSync(`${dir}/re`)].map((e) => e.name), ["a_resynth.wav"]);
    // At the input's RMS unless the -1 dBFS peak ceiling holds it lower (at this
    // test size the frame is shorter than the hop, and Griffin-Lim's output is spiky).
    const re = measureLevel((await readAudioFile(`${dir}/re/a_resynth.wav`)).samples);
    const inLevel = measureLevel(voice(200, 0.6, 16000));
    equal(re.clipped, 0);
    ok(re.peakDb <= -0.99, `peak ${re.peakDb}`);
    ok(
      Math.abs(re.rmsDb - inLevel.rmsDb) < 0.5 || (re.peakDb > -1.05 && re.rmsDb < inLevel.rmsDb),
      `RMS ${re.rmsDb} vs input ${inLevel.rmsDb}`,
    );

    // Output folders that cannot be written: one line naming the path and why.
    await Deno.writeTextFile(`${dir}/afile`, "x");
    for (
      const [outDir, why] of [
        [`${dir}/afile/sub`, "a file is in the way where a folder is needed"],
        ...(Deno.uid() === 0 ? [] : [[`${dir}/readonly/sub`, "permission denied"]]),
      ]
    ) {
      await Deno.mkdir(`${dir}/readonly`, { mode: 0o500 }).catch(() => {});
      errors.length = 0;
      equal(
        await convertMain([
          trained.runDir,
          ...["--input", `${dir}/inputs/a.wav`, "--resynth", "--out", outDir!],
          ...["--iterations", "2", "--backend", "cpu"],
        ]),
        1,
      );
      equal(errors.at(-1), `convert: Cannot write '${outDir}': ${why}`);
    }

    // An old-style run (no labels.json) converts by loading its dataset again, with a notice.
    await Deno.rename(`${dir}/manifest.moved`, `${dir}/manifest.csv`);
    await Deno.remove(`${trained.runDir}/labels.json`);
    errors.length = 0;
    logs.length = 0;
    const old = await convertMain([
      trained.runDir,
      ...["--input", `${dir}/inputs/a.wav`, "--target", "speaker=s3", "--out", `${dir}/old`],
      ...["--iterations", "2", "--backend", "cpu"],
    ]);
    equal(old, 0, errors.join("\n"));
    deepEqual(errors, [
      `convert: run '${trained.runDir}' has no labels.json (written before voxlab saved it): ` +
      `loading its dataset for the label schema`,
    ]);
    equal(
      (await readAudioFile(`${dir}/old/a_to_s3.wav`)).samples.length,
      Math.round(0.6 * 16000),
    );
    const fallback = await loadRunGenerator(trained.runDir, { progress: false, log: () => {} });
    equal(fallback.labelsFrom, "dataset");
    deepEqual(fallback.schema.toJSON(), saved.schema);
    deepEqual(fallback.targets, saved.targets);
    fallback.generator.dispose();

    errors.length = 0;
    const bad = ["--input", `${dir}/inputs/a.wav`, "--backend", "cpu", "--target"];
    equal(await convertMain([trained.runDir, ...bad, "speaker=zz"]), 1);
    equal(
      errors.at(-1),
      "convert: Cannot use target 'speaker=zz': unknown speaker 'zz'; valid values: s1, s2, s3",
    );
    equal(await convertMain([`${dir}/nowhere`, ...bad, "speaker=s1"]), 1);
    equal(errors.at(-1), `convert: Cannot load run '${dir}/nowhere': no such file or directory`);
    equal(await convertMain(["--help"]), 0);
    match(logs.join("\n"), /--target <spec>/);
  } finally {
    console.error = origError;
    console.log = origLog;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("convertFiles: a loud generator is brought to the input's level; off keeps it and it clips", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const input = voice(150, 0.5, 16000).map((x) => 0.3 * x);
    await writeWavFile(`${dir}/in.wav`, { samples: input, sampleRate: 16000 });
    const features = resolveFeatures({ bins: 32, segmentFrames: 16 });
    // Every bin at the top of the dB range: full-scale noise, as an undertrained generator gives.
    const loud = (x: import("../mod.ts").tf.Tensor4D) => x.mul(0).add(1) as typeof x;
    const job = { inputs: [`${dir}/in.wav`], labels: new Float32Array([1]), outDir: dir };
    const common = { features, iterations: 4, progress: false, suffix: "_loud" };
    const off = await convertFiles(loud, job, { ...common, normalize: "off" });
    ok(off.written[0]!.level.clipped > 0.1, `clipped ${off.written[0]!.level.clipped}`);
    const peak = await convertFiles(loud, job, { ...common, normalize: "peak", overwrite: true });
    ok(Math.abs(peak.written[0]!.level.peakDb + 1) < 1e-3);
    equal(peak.written[0]!.level.clipped, 0);
    const matched = await convertFiles(loud, job, { ...common, overwrite: true });
    const w = matched.written[0]!;
    equal(w.level.clipped, 0);
    ok(w.level.peakDb <= -1 + 1e-3);
    ok(w.gainDb < 0);
    // As written: the file's own level is the one reported (16-bit rounding aside).
    const read = measureLevel((await readAudioFile(w.path)).samples);
    ok(Math.abs(read.rmsDb - w.level.rmsDb) < 0.05, `${read.rmsDb} vs ${w.level.rmsDb}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("targetSuffix: non-ASCII values are kept, and different targets never share a name", () => {
  equal(targetSuffix({ speaker: "f1" }), "_to_f1");
  equal(targetSuffix({ speaker: "f1", accent: "gb" }), "_to_f1_gb");
  equal(targetSuffix({ speaker: "山田" }), "_to_山田");
  equal(targetSuffix({ speaker: "Zoë" }), targetSuffix({ speaker: "Zo\u0065\u0308" }));
  const values = ["山田", "田中", "Zoë", "Zoe", "a b", "a/b", "a-b", "a:b", "..", "é", "è"];
  const names = values.map((v) => targetSuffix({ speaker: v }));
  equal(new Set(names).size, values.length, names.join(" "));
  for (const n of names) ok(!n.includes("/"), n);
});
