import { deepEqual, equal, match, ok, rejects } from "node:assert/strict";
import {
  buildDemoCorpus,
  DataError,
  encodeWav,
  initBackend,
  loadDataset,
  PairSampler,
  prepareFile,
  Progress,
  resolveFeatures,
  SpectrogramCache,
  type SpectrogramDataset,
  tf,
} from "../mod.ts";

// Tests use the first 4 speakers x 3 sentences of the demo corpus (12
// utterances, two of them with unknown accent): building it takes a few
// seconds, and it is cached in the user cache dir like the full corpus, which
// `deno task data demo` builds (~30 s on 2 cores). Determinism of the build is
// checked on a fresh 1 x 2 subset.
const SUBSET = { speakers: 4, sentences: 3, progress: false } as const;
const TINY = { bins: 32, segmentFrames: 32 } as const;

async function tempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "voxlab-data-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("demo corpus: deterministic, atomic build with the documented attributes", async () => {
  await tempDir(async (dir) => {
    const a = await buildDemoCorpus({
      dir: `${dir}/a`,
      speakers: 1,
      sentences: 2,
      progress: false,
    });
    const b = await buildDemoCorpus({
      dir: `${dir}/b`,
      speakers: 1,
      sentences: 2,
      progress: false,
    });
    ok(a.built && b.built);
    for (const f of ["manifest.yaml", "wav/m1/m1_001.wav", "wav/m1/m1_002.wav"]) {
      deepEqual(await Deno.readFile(`${a.dir}/${f}`), await Deno.readFile(`${b.dir}/${f}`), f);
    }
    // No temporary build folders are left behind, and a second call reuses the corpus.
    deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), ["a", "b"]);
    equal((await buildDemoCorpus({ dir: `${dir}/a`, speakers: 1, sentences: 2 })).built, false);
  });
  const corpus = await buildDemoCorpus(SUBSET);
  const ds = await loadDataset(corpus.manifest, {
    features: TINY,
    cacheDir: null,
    progress: false,
  });
  equal(ds.size, 12);
  equal(ds.skipped.length, 0);
  deepEqual(ds.schema.attributes.map((x) => `${x.name}:${x.values.join("/")}`), [
    "speaker:m1/f1/m2/f2",
    "gender:female/male",
    "accent:gb/us",
  ]);
  equal(ds.schema.nIn, 8);
  const m2 = ds.items.find((i) => i.values.speaker === "m2")!;
  deepEqual([...m2.output], [0, 0, 1, 0, 0, 1, -1, -1]); // accent unknown -> -1
  deepEqual([...m2.input], [0, 0, 1, 0, 0, 1, 0, 0]); // unknown -> zeros
  ok(ds.seconds > 12 && ds.seconds < 60, `${ds.seconds} s of audio`);
});

/** Write the bad inputs the issue lists; returns the manifest rows. */
async function writeBadInputs(dir: string, good: Uint8Array): Promise<string[]> {
  const w = (name: string, bytes: Uint8Array) => Deno.writeFile(`${dir}/${name}`, bytes);
  await w("good1.wav", good);
  await w("good2.wav", good);
  const corrupt = good.slice();
  corrupt.set(new TextEncoder().encode("JUNK"), 12); // the fmt chunk id
  await w("corrupt.wav", corrupt);
  await w("truncated.wav", good.slice(0, good.length / 2));
  await w("empty.wav", new Uint8Array(0));
  await w("notwav.wav", new TextEncoder().encode("# just some text, not audio\n"));
  const alaw = encodeWav({ samples: new Float32Array(4000), sampleRate: 8000 });
  new DataView(alaw.buffer).setUint16(20, 6, true); // A-law
  await w("alaw.wav", alaw);
  const nan = new Float32Array(4000);
  nan[100] = NaN;
  await w("nan.wav", encodeWav({ samples: nan, sampleRate: 16000 }, { encoding: "float32" }));
  await w("short.wav", encodeWav({ samples: new Float32Array(40), sampleRate: 16000 })); // < 64 = one TINY frame
  return [
    "good1.wav,m1,male",
    "corrupt.wav,m1,male",
    "truncated.wav,m1,male",
    "empty.wav,m1,male",
    "notwav.wav,m1,male",
    "alaw.wav,m1,male",
    "nan.wav,m1,male",
    "short.wav,m1,male",
    "missing.wav,m1,male",
    "good2.wav,f1,female",
  ];
}

Deno.test("bad input: skipped with reasons by default; strict stops at the first with one line", async () => {
  const corpus = await buildDemoCorpus(SUBSET);
  const good = await Deno.readFile(`${corpus.dir}/wav/m1/m1_001.wav`);
  await tempDir(async (dir) => {
    const rows = await writeBadInputs(dir, good);
    await Deno.writeTextFile(`${dir}/m.csv`, ["path,speaker,gender", ...rows].join("\n"));
    const ds = await loadDataset(`${dir}/m.csv`, {
      cacheDir: null,
      progress: false,
      features: TINY,
    });
    deepEqual(ds.items.map((i) => i.path.split("/").pop()), ["good1.wav", "good2.wav"]);
    equal(ds.skipped.length, 8);
    const reasons = Object.fromEntries(ds.skipped.map((s) => [s.path.split("/").pop(), s.problem]));
    match(reasons["m.csv:10"]!, /audio file '.*missing\.wav' does not exist/);
    match(reasons["corrupt.wav"]!, /no 'fmt ' chunk/);
    match(reasons["truncated.wav"]!, /data chunk is truncated/);
    match(reasons["empty.wav"]!, /the file is empty/);
    match(reasons["notwav.wav"]!, /unrecognised format/);
    match(reasons["alaw.wav"]!, /unsupported encoding format 6/);
    match(reasons["nan.wav"]!, /sample 100 is NaN/);
    match(reasons["short.wav"]!, /shorter than one frame/);

    // A YAML manifest with a fixed schema: an unknown value is a bad row.
    await Deno.writeTextFile(
      `${dir}/m.yaml`,
      `attributes:
  - { name: speaker, values: [m1, f1] }
items:
  - { path: good1.wav, speaker: m1 }
  - { path: good2.wav, speaker: zz }
`,
    );
    const y = await loadDataset(`${dir}/m.yaml`, {
      cacheDir: null,
      progress: false,
      features: TINY,
    });
    equal(y.size, 1);
    deepEqual(y.skipped, [{
      path: `${dir}/m.yaml: item 2`,
      problem: "unknown value 'zz' for attribute 'speaker'",
    }]);
    await rejects(
      loadDataset(`${dir}/m.yaml`, { strict: true, cacheDir: null, progress: false }),
      (e: unknown) =>
        e instanceof DataError &&
        e.message ===
          `Cannot use dataset entry '${dir}/m.yaml: item 2': unknown value 'zz' for attribute 'speaker'`,
    );
    await rejects(
      loadDataset(`${dir}/m.csv`, { strict: true, cacheDir: null, progress: false, workers: 1 }),
      (e: unknown) =>
        e instanceof DataError &&
        /^Cannot use dataset entry '.*m\.csv:10': audio file/.test(e.message),
    );
    // The task: exit code 1, one line on stderr, no stack trace.
    await Deno.writeTextFile(
      `${dir}/m2.csv`,
      ["path,speaker", "good1.wav,m1", "nan.wav,m1"].join("\n"),
    );
    const prepare = (...flags: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../tasks/data.ts", import.meta.url).pathname,
          "prepare",
          `${dir}/m2.csv`,
          ...flags,
          "--quiet",
          "--cache-dir",
          `${dir}/cache`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const out = await prepare("--strict");
    equal(out.code, 1);
    const stderr = new TextDecoder().decode(out.stderr).trim();
    equal(
      stderr,
      `Cannot use audio file '${dir}/nan.wav': sample 100 is NaN (expected finite values)`,
    );
    const lenient = await prepare();
    equal(lenient.code, 0);
    match(
      new TextDecoder().decode(lenient.stdout),
      /Skipped 1 input\(s\):\n {2}.*nan\.wav: sample 100 is NaN/,
    );
  });
});

Deno.test("folder-per-speaker layout (VCTK): FLAC and WAV, speaker-info, match filter", async () => {
  const corpus = await buildDemoCorpus(SUBSET);
  const flac = new URL("./fixtures/data/tone_stereo_44k.flac", import.meta.url).pathname;
  await tempDir(async (dir) => {
    const root = `${dir}/VCTK`;
    await Deno.mkdir(`${root}/wav48_silence_trimmed/p225`, { recursive: true });
    await Deno.mkdir(`${root}/wav48_silence_trimmed/p226`, { recursive: true });
    await Deno.copyFile(flac, `${root}/wav48_silence_trimmed/p225/p225_001_mic1.flac`);
    await Deno.copyFile(flac, `${root}/wav48_silence_trimmed/p225/p225_001_mic2.flac`);
    await Deno.copyFile(
      `${corpus.dir}/wav/f1/f1_001.wav`,
      `${root}/wav48_silence_trimmed/p226/p226_001_mic1.wav`,
    );
    await Deno.writeTextFile(
      `${root}/speaker-info.txt`,
      "ID  AGE  GENDER  ACCENTS  REGION COMMENTS\np225  23  F    English    Southern  England\n",
    );
    const ds = await loadDataset(root, {
      cacheDir: null,
      progress: false,
      match: /mic1/,
      features: TINY,
    });
    equal(ds.size, 2);
    deepEqual(ds.items.map((i) => i.values), [
      { speaker: "p225", gender: "F", accent: "English" },
      { speaker: "p226", gender: null, accent: null },
    ]);
    equal(ds.items[0]!.frames, Math.floor((0.25 * 16000) / 128) + 1);
    await rejects(
      loadDataset(`${dir}/nothing`, { progress: false }),
      /Cannot load dataset '.*nothing': no such file or folder/,
    );
  });
});

Deno.test("cache: hit on the second load; a changed file or config is recomputed", async () => {
  const corpus = await buildDemoCorpus(SUBSET);
  await tempDir(async (dir) => {
    const features = resolveFeatures(TINY);
    const cache = await SpectrogramCache.open(`${dir}/cache`, features);
    const path = `${dir}/a.wav`;
    await Deno.copyFile(`${corpus.dir}/wav/m1/m1_001.wav`, path);
    const first = await prepareFile(path, { features, cache });
    const second = await prepareFile(path, { features, cache });
    ok(!first.cached && second.cached);
    deepEqual(second.spectrogram.data, first.spectrogram.data);
    await Deno.copyFile(`${corpus.dir}/wav/m1/m1_002.wav`, path); // changed file
    const third = await prepareFile(path, { features, cache });
    ok(!third.cached);
    ok(third.spectrogram.frames !== first.spectrogram.frames);
    const other = resolveFeatures({ ...TINY, hop: 64 }); // changed config
    const cache2 = await SpectrogramCache.open(`${dir}/cache`, other);
    ok(cache2.dir !== cache.dir);
    // The segment width is cropped after the cache: it does not change the key.
    const wider = resolveFeatures({ ...TINY, segmentFrames: 2 * features.segmentFrames });
    equal((await SpectrogramCache.open(`${dir}/cache`, wider)).dir, cache.dir);
    ok((await prepareFile(path, { features: wider, cache })).cached);
    const fourth = await prepareFile(path, { features: other, cache: cache2 });
    ok(!fourth.cached);
    equal(fourth.spectrogram.frames, 2 * third.spectrogram.frames - 1);
    // Whole datasets: second load computes nothing; workers give the same spectrograms.
    const opts = { cacheDir: `${dir}/ds-cache`, progress: false, features: TINY };
    const a = await loadDataset(corpus.manifest, { ...opts, workers: 2 });
    const b = await loadDataset(corpus.manifest, { ...opts, keepInMemory: false });
    equal(a.preparation.computed, 12);
    equal(b.preparation.cached, 12);
    const c = await loadDataset(corpus.manifest, {
      cacheDir: null,
      progress: false,
      features: TINY,
      workers: 1,
    });
    a.items.forEach((item, i) => {
      deepEqual(item.spectrogram().data, b.items[i]!.spectrogram().data);
      deepEqual(item.spectrogram().data, c.items[i]!.spectrogram().data);
    });
  });
});

Deno.test("progress bar: count, rate and ETA; silent for a few files", () => {
  let text = "";
  const output = {
    writeSync: (p: Uint8Array) => (text += new TextDecoder().decode(p), p.length),
    isTerminal: () => false,
  };
  const bar = new Progress("prepare x", 40, { output });
  for (let i = 0; i < 40; i++) bar.tick();
  bar.done();
  const lines = text.trim().split("\n");
  equal(lines.length, 11);
  match(lines.at(-1)!, /^prepare x \[=+\] 40\/40 {2}\d+\.\d files\/s {2}ETA 00:00$/);
  text = "";
  const small = new Progress("y", 5, { output });
  small.tick(5);
  small.done();
  equal(text, "");
});

function checkBatchLabels(ds: SpectrogramDataset, arrays: ReturnType<PairSampler["nextArrays"]>) {
  const { nIn, nOut } = ds.schema;
  arrays.indexB.forEach((b, s) => {
    deepEqual(arrays.cB.subarray(s * nIn, (s + 1) * nIn), ds.items[b]!.input);
    deepEqual(arrays.yB.subarray(s * nOut, (s + 1) * nOut), ds.items[b]!.output);
    deepEqual(arrays.cA.subarray(s * nIn, (s + 1) * nIn), ds.items[arrays.indexA[s]!]!.input);
  });
}

Deno.test("batches: shapes, ranges, labels, seeded order, epochs, resume, flat tensor count", async () => {
  await initBackend({ backend: "cpu", quiet: true });
  const corpus = await buildDemoCorpus(SUBSET);
  const ds = await loadDataset(corpus.manifest, {
    cacheDir: null,
    progress: false,
    features: TINY,
  });
  const sampler = new PairSampler(ds, { batchSize: 4, seed: 7, differentAttribute: "speaker" });
  equal(sampler.batchesPerEpoch, 3);
  const seen: number[] = [];
  for (let i = 0; i < 3; i++) {
    const arr = sampler.nextArrays();
    seen.push(...arr.indexA);
    checkBatchLabels(ds, arr);
    arr.indexA.forEach((a, s) =>
      ok(ds.items[a]!.values.speaker !== ds.items[arr.indexB[s]!]!.values.speaker)
    );
    ok(arr.xA.every((v) => v >= 0 && v <= 1) && arr.xA.some((v) => v > 0.3));
  }
  deepEqual(seen.sort((x, y) => x - y), [...Array(12).keys()]); // one epoch = every item once as A
  equal(sampler.epoch, 1);

  const again = new PairSampler(ds, { batchSize: 4, seed: 7, differentAttribute: "speaker" });
  const s2 = new PairSampler(ds, { batchSize: 4, seed: 7, differentAttribute: "speaker" });
  s2.nextArrays();
  const state = s2.getState();
  again.nextArrays();
  const resumed = new PairSampler(ds, { batchSize: 4, seed: 99, differentAttribute: "speaker" });
  resumed.setState(state);
  deepEqual(resumed.nextArrays().xB, again.nextArrays().xB);

  const before = tf.memory().numTensors;
  for (const batch of new PairSampler(ds, { batchSize: 2, seed: 1 }).epochBatches()) {
    deepEqual(batch.xA.shape, [2, 32, 32, 1]);
    deepEqual(batch.xB.shape, [2, 32, 32, 1]);
    deepEqual(batch.cA.shape, [2, 8]);
    deepEqual(batch.cB.shape, [2, 8]);
    deepEqual(batch.yB.shape, [2, 8]);
    equal(batch.xA.dtype, "float32");
    tf.dispose(batch);
  }
  const kept = tf.tidy(() => new PairSampler(ds, { seed: 2 }).next().yB.sum());
  kept.dispose();
  equal(tf.memory().numTensors, before);
});
