/**
 * External imports used only by the tests, pinned; kept out of `lib/deps.ts`
 * so that `mod.ts` never loads a browser driver.
 *
 * @module
 */

export { chromium } from "npm:playwright-core@1.65.1";
export type { Browser, Page } from "npm:playwright-core@1.65.1";
