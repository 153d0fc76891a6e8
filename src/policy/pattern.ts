/**
 * Blocked patterns: RE2 syntax, compiled once at validation by re2js and matched
 * case-insensitively anywhere in the content in linear time.
 *
 * Content comes from clients, patterns from admins. A backtracking engine (JavaScript's RegExp)
 * takes seconds on `spam.*link` against 64 KiB of "spam spam …" — the whole listener would stall.
 * RE2 never backtracks. {@link Pattern.test} searches with `Matcher.find()`, which runs re2js's
 * one-pass, bit-state or Pike-VM engine: at most O(content length × program size) work whatever
 * the input, so `content_rule.ts` bounds each request by content length × the summed
 * {@link Pattern.size} before searching. `RE2JS.test()` is not used: its lazy DFA is faster on
 * ordinary content, but when its state cache thrashes it rebuilds up to 8 MB of states per call
 * and pattern (measured at ten times the Pike VM's worst cost per unit), which no such bound
 * covers.
 *
 * Nested quantifiers (`(a+)+`, `(a|aa)*`) are allowed: they only hurt backtracking engines, and
 * RE2 runs them in linear time. What is refused besides syntax errors is a compiled program over
 * {@link MAX_PROGRAM_SIZE} instructions, since the cost per content character grows with it and
 * counted repeats let 200 characters compile to tens of thousands of instructions.
 *
 * RE2 syntax differs from JavaScript's: no lookarounds or backreferences (refused with that
 * reason); code points are `\x{E9}`, not `\u00e9`; `\d \w \s \b` are ASCII only (use `\pL`,
 * `\pN`, `\pZ` for Unicode); `.` matches anything but `\n`; `a{` and `a]` are literals. Named
 * groups and `(?flags)` are allowed, so `(?-i)` turns case-insensitivity off where an admin wants.
 */
import { RE2JS, RE2JSException, RE2JSSyntaxException } from "re2js";
import { show } from "./problems.ts";

/** Largest compiled program one pattern may have, in RE2 instructions. */
export const MAX_PROGRAM_SIZE = 2000;

/** A compiled blocked pattern. */
export interface Pattern {
  /** The pattern as written in the policy. */
  readonly source: string;
  /** Compiled program size in RE2 instructions: the search cost per content character, at worst. */
  readonly size: number;
  /** Whether the pattern occurs anywhere in `text`; work proportional to `text.length × size`. */
  test(text: string): boolean;
}

/** Compiles `source` (RE2 syntax, case-insensitive), or says why it cannot be used. */
export function compilePattern(
  source: string,
): { ok: true; pattern: Pattern } | { ok: false; why: string } {
  let regex: RE2JS;
  try {
    regex = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
  } catch (error: unknown) {
    if (error instanceof RE2JSSyntaxException) return { ok: false, why: syntaxWhy(source, error) };
    if (error instanceof RE2JSException) return { ok: false, why: error.message };
    throw error;
  }
  const size = regex.programSize();
  if (size > MAX_PROGRAM_SIZE) {
    const why = `the pattern is too large: it compiles to ${size} instructions, ` +
      `over the limit of ${MAX_PROGRAM_SIZE} (lower its repeat counts)`;
    return { ok: false, why };
  }
  const test = (text: string): boolean => regex.matcher(text).find();
  return { ok: true, pattern: { source, size, test } };
}

/** The reason for an RE2 syntax error, naming lookarounds and backreferences outright. */
function syntaxWhy(source: string, error: RE2JSSyntaxException): string {
  const kind = error.getDescription();
  let at = error.getPattern() ?? "";
  // re2js reports some errors against the whole pattern with the case-insensitive flag prepended.
  if (at === `(?i)${source}`) at = source;
  if (/^\(\?<?[=!]/.test(at)) return "lookarounds are not supported";
  const namedBackreference = at === "(?P" && source.includes("(?P=");
  if (namedBackreference || (kind === "invalid escape sequence" && /^\\[1-9k]/.test(at))) {
    return "backreferences are not allowed";
  }
  const hint = at.startsWith("\\u") ? " (RE2 writes a code point as \\x{E9})" : "";
  return `${kind}: ${show(at)}${hint}`;
}
