/**
 * Experiments as code: the experiment type, composition ({@linkcode extend},
 * {@linkcode without}), {@linkcode diff} by dot path, `--set` overrides, YAML,
 * the config hash, loading experiment files, and run records.
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
export * from "./mermaid.ts";
export * from "./record.ts";
export * from "./run_dir.ts";
export * from "./export_run.ts";
export * from "./run.ts";
