/**
 * Validation of the `content` and `rate_limits` parts of a policy document.
 */
import { isNip46Method } from "../nostr/nip46.ts";
import { compilePattern, type Pattern } from "./pattern.ts";
import { arrayOf, isObject, problem, ROOT, show, unknownFields } from "./problems.ts";

/** At most this many blocked words. */
export const MAX_WORDS = 500;
/** A blocked word is at most this many characters. */
export const MAX_WORD_LENGTH = 100;
/** At most this many blocked patterns. */
export const MAX_PATTERNS = 50;
/** A blocked pattern is at most this many characters. */
export const MAX_PATTERN_LENGTH = 200;
/** Largest `max_length`, `per_minute` and `burst`. */
const MAX_NUMBER = 1_000_000;

/** Checks `rules.content`, pushing problems; returns the compiled blocked patterns. */
export function validateContent(value: unknown, problems: string[]): Pattern[] {
  const path = `${ROOT}.content`;
  if (!isObject(value)) {
    problems.push(problem(path, value, "expected an object"));
    return [];
  }
  problems.push(...unknownFields(path, value, ["blocked_words", "blocked_patterns", "max_length"]));
  if (value.blocked_words !== undefined) {
    arrayOf(`${path}.blocked_words`, value.blocked_words, MAX_WORDS, problems)?.forEach((w, i) => {
      if (typeof w !== "string" || w.trim() === "" || w.length > MAX_WORD_LENGTH) {
        const why = `a word is a string of 1–${MAX_WORD_LENGTH} characters, not only spaces`;
        problems.push(problem(`${path}.blocked_words[${i}]`, w, why));
      }
    });
  }
  const patterns: Pattern[] = [];
  const sources = value.blocked_patterns === undefined
    ? []
    : arrayOf(`${path}.blocked_patterns`, value.blocked_patterns, MAX_PATTERNS, problems) ?? [];
  sources.forEach((source, i) => {
    const at = `${path}.blocked_patterns[${i}]`;
    if (typeof source !== "string" || source === "" || source.length > MAX_PATTERN_LENGTH) {
      const why = `a pattern is a string of 1–${MAX_PATTERN_LENGTH} characters`;
      problems.push(problem(at, source, why));
      return;
    }
    const compiled = compilePattern(source);
    if (compiled.ok) patterns.push(compiled.pattern);
    else problems.push(problem(at, source, compiled.why));
  });
  if (value.max_length !== undefined) {
    checkCount(`${path}.max_length`, value.max_length, 0, problems);
  }
  return patterns;
}

/** Checks `rules.rate_limits`, pushing problems. */
export function validateRateLimits(value: unknown, problems: string[]): void {
  const path = `${ROOT}.rate_limits`;
  if (!isObject(value)) {
    problems.push(problem(path, value, "expected an object"));
    return;
  }
  problems.push(...unknownFields(path, value, ["per_client", "per_method"]));
  if (value.per_client !== undefined) checkLimit(`${path}.per_client`, value.per_client, problems);
  if (value.per_method === undefined) return;
  if (!isObject(value.per_method)) {
    problems.push(problem(`${path}.per_method`, value.per_method, "expected an object"));
    return;
  }
  for (const [method, limit] of Object.entries(value.per_method)) {
    if (!isNip46Method(method)) {
      const why = "not a NIP-46 method keycast knows";
      problems.push(`${path}.per_method: cannot use key ${show(method)}: ${why}`);
    } else {
      checkLimit(`${path}.per_method.${method}`, limit, problems);
    }
  }
}

function checkLimit(path: string, value: unknown, problems: string[]): void {
  if (!isObject(value)) {
    problems.push(problem(path, value, 'expected an object like {"per_minute": 60, "burst": 10}'));
    return;
  }
  problems.push(...unknownFields(path, value, ["per_minute", "burst"]));
  if (value.per_minute === undefined) {
    problems.push(`${path}.per_minute: missing; a rate limit needs a refill rate`);
  } else {
    checkCount(`${path}.per_minute`, value.per_minute, 1, problems);
  }
  if (value.burst !== undefined) checkCount(`${path}.burst`, value.burst, 1, problems);
}

function checkCount(path: string, value: unknown, min: number, problems: string[]): void {
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > MAX_NUMBER) {
    problems.push(problem(path, value, `expected an integer ${min}–${MAX_NUMBER}`));
  }
}
