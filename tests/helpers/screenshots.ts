/// <reference lib="dom" />
/** Screenshots of web pages in the browser tests, with the check that a page fits 360 px. */
import assert from "node:assert/strict";
import type { Page } from "puppeteer-core";

/** Where the browser tests save screenshots (not committed). */
export const SCREENSHOTS = new URL("../../test-output/screenshots/", import.meta.url);

/** Saves the page at 360 and 1280 px, light and dark, as `<name>-<width>-<scheme>.png`. */
export async function screenshots(page: Page, name: string): Promise<void> {
  await Deno.mkdir(SCREENSHOTS, { recursive: true });
  for (const width of [360, 1280]) {
    await page.setViewport({ width, height: 800 });
    // Usable at 360 px: nothing wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(overflow <= width, `${name} is ${overflow} px wide at ${width} px`);
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: scheme }]);
      const path = new URL(`${name}-${width}-${scheme}.png`, SCREENSHOTS);
      await page.screenshot({ path: path.pathname as `${string}.png`, fullPage: true });
    }
  }
  await page.emulateMediaFeatures([]);
  await page.setViewport({ width: 1280, height: 800 });
}
