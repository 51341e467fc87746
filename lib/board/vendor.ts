/**
 * The browser libraries the board serves to its page, pinned npm packages
 * read as text (never run by Deno). They are not in `lib/deps.ts` on purpose:
 * Deno fetches the targets of literal dynamic imports with the module graph,
 * so listing them there would make every script that imports `mod.ts`
 * download mermaid and its dependencies.
 *
 * @module
 */

/** The pinned packages' browser files, by the name the page fetches (`/vendor/<name>.js`). */
export const VENDOR_FILES = {
  /** mermaid's self-contained browser build (sets `globalThis.mermaid`). */
  mermaid: () =>
    import("npm:mermaid@11.12.2/dist/mermaid.min.js", { with: { type: "text" } }).then((m) =>
      m.default as string
    ),
  /** marked's ES module build (the package's main export, lib/marked.esm.js). */
  marked: () =>
    import("npm:marked@17.0.1", { with: { type: "text" } }).then((m) => m.default as string),
} as const;
