/**
 * Blocked patterns, compiled once at validation and matched in linear time.
 *
 * Content comes from clients, patterns from admins. A backtracking engine (JavaScript's RegExp)
 * takes seconds on `spam.*link` against 64 KiB of "spam spam …" — the whole listener would stall.
 * So patterns are parsed into a subset of regular expressions (see `pattern_parse.ts`) and run on
 * a Pike VM (`pattern_vm.ts`): every position advances at most `program.length` threads, so a
 * search costs O(content length × program size) at worst, whatever the input, and each search
 * spends from a step budget shared by one request's patterns (running out denies the request).
 * Matching is case-insensitive.
 * Patterns also pass the screen in `pattern_safety.ts` (no backreferences, no nested quantifiers).
 */
import { parsePattern, PatternSyntaxError } from "./pattern_parse.ts";
import { compileProgram } from "./pattern_program.ts";
import { hostilePatternReason } from "./pattern_safety.ts";
import { PatternVm, type SearchResult, type StepBudget } from "./pattern_vm.ts";

export type { SearchResult, StepBudget };

/** A compiled blocked pattern. */
export interface Pattern {
  /** The pattern as written in the policy. */
  readonly source: string;
  /** Program size in instructions (the cost per content character, at worst). */
  readonly size: number;
  /** Whether the pattern occurs anywhere in `codePoints` (see {@link toCodePoints}). */
  test(codePoints: readonly number[], budget: StepBudget): SearchResult;
}

/** The code points of `text`, the input {@link Pattern.test} takes. */
export function toCodePoints(text: string): number[] {
  const codePoints: number[] = [];
  for (const ch of text) codePoints.push(ch.codePointAt(0)!);
  return codePoints;
}

/** Compiles `source`, or says why it cannot be used. */
export function compilePattern(
  source: string,
): { ok: true; pattern: Pattern } | { ok: false; why: string } {
  const hostile = hostilePatternReason(source);
  if (hostile) return { ok: false, why: hostile };
  try {
    const program = compileProgram(parsePattern(source));
    const vm = new PatternVm(program);
    const test = (input: readonly number[], budget: StepBudget) => vm.search(input, budget);
    return { ok: true, pattern: { source, size: program.length, test } };
  } catch (err: unknown) {
    if (err instanceof PatternSyntaxError) return { ok: false, why: err.message };
    throw err;
  }
}
