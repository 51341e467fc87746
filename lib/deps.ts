/**
 * Every external import of voxlab, with full pinned `npm:` specifiers.
 *
 * Keeping them in one module means `mod.ts` works when an ad-hoc script
 * outside the repository imports it by path (voxlab's import map does not
 * apply there), and swapping a dependency is a one-line change.
 *
 * The optional tensorflow and webgpu backends are not imported here: they are
 * loaded on request by `lib/backend/init.ts` from the specifiers below.
 *
 * @module
 */

export * as tf from "npm:@tensorflow/tfjs-core@4.22.0";
// tfjs-core registers no gradient functions; the union package's bundle does (imported for that side effect).
import "npm:@tensorflow/tfjs@4.22.0";
export * as tfCpu from "npm:@tensorflow/tfjs-backend-cpu@4.22.0";
export * as tfWasm from "npm:@tensorflow/tfjs-backend-wasm@4.22.0";
export * as YAML from "npm:yaml@2.9.1";
export { decode as decodePng, encode as encodePng } from "npm:fast-png@8.0.0";
export { FLACDecoder } from "npm:@wasm-audio-decoders/flac@0.2.11";
export { MPEGDecoder } from "npm:mpg123-decoder@1.0.3";
export { OggVorbisDecoder } from "npm:@wasm-audio-decoders/ogg-vorbis@0.1.20";
export { default as LibSampleRate } from "npm:@alexanderolsen/libsamplerate-js@2.1.2";
export { default as ESpeakNg } from "npm:espeak-ng@1.0.2";

/** Specifiers of backends that are loaded only on request. */
export const OPTIONAL_SPECIFIERS = {
  tfjsNodeGpu: "npm:@tensorflow/tfjs-node-gpu@4.22.0",
  tfjsNode: "npm:@tensorflow/tfjs-node@4.22.0",
  tfjsWebgpu: "npm:@tensorflow/tfjs-backend-webgpu@4.22.0",
  /** Node-API C headers, for building tfjs-node's binding (`deno task setup tensorflow`). */
  nodeApiHeaders: "npm:node-api-headers@1.9.0",
} as const;

// The board's browser files (mermaid, marked) are pinned in lib/board/vendor.ts, not here: a
// dynamic import written here would be fetched by every script that imports mod.ts.
