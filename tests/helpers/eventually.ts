/**
 * Bounded polling for tests that wait for something to happen: poll the condition instead of
 * sleeping a fixed time and hoping it happened. Tests that wait for time itself to pass (an
 * expiry, a backoff, a window) inject a clock instead.
 */

/** Default bound of {@link eventually}, in ms (the same as one NIP-46 call in tests). */
export const EVENTUALLY_TIMEOUT_MS = 10_000;

/**
 * Polls `check` every `intervalMs` (default 100) until it returns true; throws naming `what` after
 * `timeoutMs` (default {@link EVENTUALLY_TIMEOUT_MS}). Returns the time it took, in ms.
 */
export async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<number> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? EVENTUALLY_TIMEOUT_MS;
  while (Date.now() - started < timeoutMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, opts.intervalMs ?? 100));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
}
