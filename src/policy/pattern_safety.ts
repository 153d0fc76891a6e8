/**
 * A quick screen for regular expressions known to be hostile to backtracking engines, run at
 * validation. keycast's own matcher is linear (see `pattern.ts`), but a pattern that passes here
 * stays safe wherever else an admin tests or reuses it, and it reads simply.
 *
 * Rejected: backreferences (`\1`…`\9`, `\k<name>`) and a group repeated by `*`, `+` or `{n,…}`
 * that itself contains a quantifier or an alternation (`(a+)+`, `(a|aa)*`, `(\w*\s?){2,}`): the
 * shapes behind catastrophic backtracking. The screen is a heuristic over the pattern text, not a
 * proof; it errs towards rejecting.
 */

/** Why `source` is refused, or undefined when it passes the screen. */
export function hostilePatternReason(source: string): string | undefined {
  // One frame per open group: whether it contains a quantifier or an alternation so far.
  const frames: { risky: boolean }[] = [{ risky: false }];
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    const top = frames[frames.length - 1]!;
    if (ch === "\\") {
      const next = source[i + 1] ?? "";
      if (/[1-9]/.test(next) || next === "k") return "backreferences are not allowed";
      i++;
    } else if (ch === "[") {
      i = classEnd(source, i);
    } else if (ch === "(") {
      frames.push({ risky: false });
    } else if (ch === ")") {
      if (frames.length === 1) return undefined; // unbalanced: the compiler reports it
      const group = frames.pop()!;
      if (group.risky && repeats(source, i + 1)) {
        return "a repeated group must not contain a quantifier or | (nested quantifiers backtrack)";
      }
      const parent = frames[frames.length - 1]!;
      parent.risky ||= group.risky || isQuantifier(source, i + 1);
    } else if (ch === "|" || isQuantifier(source, i)) {
      top.risky = true;
    }
  }
  return undefined;
}

/** Index of the `]` closing the class opened at `start` (or the last index). */
function classEnd(source: string, start: number): number {
  for (let i = start + 1; i < source.length; i++) {
    if (source[i] === "\\") i++;
    else if (source[i] === "]" && i > start + 1) return i;
  }
  return source.length - 1;
}

/** Whether a quantifier starts at `i` (`?` right after `(` is a group modifier, not one). */
function isQuantifier(source: string, i: number): boolean {
  const ch = source[i];
  if (ch === "*" || ch === "+") return true;
  if (ch === "?") return source[i - 1] !== "(";
  return ch === "{" && /^\{\d+(,\d*)?\}/.test(source.slice(i, i + 16));
}

/** Whether a quantifier allowing more than one repetition starts at `i`. */
function repeats(source: string, i: number): boolean {
  const ch = source[i];
  if (ch === "*" || ch === "+") return true;
  const braces = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i, i + 16));
  if (!braces) return false;
  const max = braces[2] === undefined
    ? Number(braces[1])
    : braces[3]
    ? Number(braces[3])
    : Infinity;
  return max > 1;
}
