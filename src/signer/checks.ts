/** Type guards for values that crossed the worker boundary (structured clones of unknown shape). */

/** `value` as a record of fields when it is a non-null, non-array object; else `undefined`. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined;
}

/** True for a string. */
export function isString(value: unknown): value is string {
  return typeof value === "string";
}

/** True for an integer in ±(2^53 − 1). */
export function isSafeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value);
}
