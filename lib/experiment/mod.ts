/**
 * Experiments as code, pure config: the experiment type, validation,
 * composition ({@linkcode extend}, {@linkcode without}), {@linkcode diff} by
 * dot path, `--set` overrides, YAML and the config hash, and loading
 * experiment files.
 *
 * @module
 */
export * from "./types.ts";
export * from "./validate.ts";
export * from "./compose.ts";
export * from "./diff.ts";
export * from "./overrides.ts";
export * from "./serialize.ts";
export * from "./load.ts";
