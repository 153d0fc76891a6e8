/**
 * Assertions on top of `node:assert/strict` (JSR's @std/assert is unreachable from our build
 * machines), with the names and argument order of the usual Deno helpers.
 */
import assert from "node:assert/strict";

/** Fails unless `actual` deep-equals `expected`. */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  if (message === undefined) assert.deepStrictEqual(actual, expected);
  else assert.deepStrictEqual(actual, expected, message);
}

/** Fails unless `value` is truthy. */
export function assertOk(value: unknown, message?: string): asserts value {
  if (message === undefined) assert.ok(value);
  else assert.ok(value, message);
}

/** Fails unless `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  assert.ok(
    text.includes(part),
    message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

/** Fails unless `text` does not contain `part`. */
export function assertNotIncludes(text: string, part: string, message?: string): void {
  assert.ok(
    !text.includes(part),
    message ?? `expected the text not to include ${JSON.stringify(part)}`,
  );
}

/** Awaits `fn()` and fails unless it rejects (with an instance of `type`, when given). */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  type?: new (...args: any[]) => E,
  messageIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (error) {
    if (type && !(error instanceof type)) {
      throw new assert.AssertionError({
        message: `expected ${type.name}, got ${(error as Error)?.name}: ${
          (error as Error)?.message
        }`,
      });
    }
    if (messageIncludes) assertStringIncludes((error as Error).message, messageIncludes);
    return error as E;
  }
  throw new assert.AssertionError({ message: "expected the call to reject" });
}

/** Calls `fn()` and fails unless it throws (with an instance of `type`, when given). */
export function assertThrows<E extends Error = Error>(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  type?: new (...args: any[]) => E,
  messageIncludes?: string,
): E {
  try {
    fn();
  } catch (error) {
    if (type && !(error instanceof type)) {
      throw new assert.AssertionError({
        message: `expected ${type.name}, got ${(error as Error)?.name}: ${
          (error as Error)?.message
        }`,
      });
    }
    if (messageIncludes) assertStringIncludes((error as Error).message, messageIncludes);
    return error as E;
  }
  throw new assert.AssertionError({ message: "expected the call to throw" });
}
