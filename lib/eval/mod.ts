/**
 * Evaluation: diagnostics that catch a label-ignoring generator (label
 * sensitivity, identity distance, conversion accuracy, collapse warning),
 * mel-cepstral distortion with DTW, and PNG plots.
 *
 * @module
 */
export * from "./diagnostics.ts";
export * from "./mcd.ts";
export * from "./png.ts";
export * from "./plots.ts";
export * from "./speaker_classifier.ts";
export * from "./monitor.ts";
export * from "./compare.ts";
export * from "./convert.ts";
export * from "./probe.ts";
export * from "./sweep.ts";
export * from "./load_run.ts";
