/**
 * Helpers to word validation problems: one sentence each, naming the field path and the value.
 */

/** The root of every problem's field path. */
export const ROOT = "rules";

/** `path: cannot use <value>: why`. */
export function problem(path: string, value: unknown, why: string): string {
  return `${path}: cannot use ${show(value)}: ${why}`;
}

/** A value as it appears in a problem: JSON, cut to `max` characters. */
export function show(value: unknown, max = 60): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch (_error: unknown) {
    // Only cyclic or BigInt values throw, and neither comes from JSON: name the type instead.
    text = `a ${typeof value}`;
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** Whether `value` is a plain object (not null, not an array). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Problems for the keys of `value` not in `known`. */
export function unknownFields(
  path: string,
  value: Record<string, unknown>,
  known: readonly string[],
): string[] {
  return Object.keys(value).filter((key) => !known.includes(key)).map((key) =>
    `${path}.${key}: unknown field; expected one of ${known.join(", ")}`
  );
}

/**
 * Checks that `value` is an array of at most `max` entries; pushes a problem and returns
 * undefined otherwise.
 */
export function arrayOf(
  path: string,
  value: unknown,
  max: number,
  problems: string[],
): unknown[] | undefined {
  if (!Array.isArray(value)) {
    problems.push(problem(path, value, "expected an array"));
    return undefined;
  }
  if (value.length > max) {
    problems.push(`${path}: cannot use ${value.length} entries: at most ${max} are allowed`);
    return undefined;
  }
  return value;
}
