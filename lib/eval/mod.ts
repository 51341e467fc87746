/**
 * Evaluation, the instruments used during training: diagnostics that catch a
 * label-ignoring generator (label sensitivity, identity distance, conversion
 * accuracy, collapse warning), mel-cepstral distortion with DTW, the
 * independent speaker classifier, conversion of whole utterances, and PNG
 * plots.
 *
 * @module
 */
export * from "./diagnostics/mod.ts";
export * from "./mcd.ts";
export * from "./png.ts";
export * from "./plots.ts";
export * from "./speaker_classifier.ts";
export * from "./convert.ts";
