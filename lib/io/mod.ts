/**
 * File-system reliability: atomic, synced writes with unique temporary
 * names, clean-up after killed writers, one-writer locks, and one-line I/O
 * errors.
 *
 * @module
 */
export * from "./io_error.ts";
export * from "./atomic.ts";
export * from "./lock.ts";
export * from "./path_name.ts";
