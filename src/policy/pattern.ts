/**
 * Blocked patterns: compiled once at validation.
 */
import { hostilePatternReason } from "./pattern_safety.ts";

/** A compiled blocked pattern. */
export interface Pattern {
  /** The pattern as written in the policy. */
  readonly source: string;
  /** Whether the pattern occurs anywhere in `text` (case-insensitive). */
  test(text: string): boolean;
}

/** Compiles `source`, or says why it cannot be used. */
export function compilePattern(
  source: string,
): { ok: true; pattern: Pattern } | { ok: false; why: string } {
  const hostile = hostilePatternReason(source);
  if (hostile) return { ok: false, why: hostile };
  try {
    const regex = new RegExp(source, "iu");
    return { ok: true, pattern: { source, test: (text) => regex.test(text) } };
  } catch (err: unknown) {
    return { ok: false, why: `not a valid pattern (${(err as Error).message})` };
  }
}
