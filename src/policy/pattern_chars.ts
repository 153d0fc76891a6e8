/**
 * Character tests for blocked patterns, all case-insensitive: a code point matches when it, its
 * lower case or its upper case (each a single code point) is in the set.
 */

/** A class member: a code point or a test such as `\d`. */
export type CharItem = number | ((cp: number) => boolean);

const lowerCache = new Map<number, number>();
const upperCache = new Map<number, number>();
const CACHE_MAX = 4096;

/** The lower case of `cp`, or `cp` itself when that is not a single code point. */
export function lowerOf(cp: number): number {
  if (cp < 128) return cp >= 65 && cp <= 90 ? cp + 32 : cp;
  return cached(lowerCache, cp, (ch) => ch.toLowerCase());
}

/** The upper case of `cp`, or `cp` itself when that is not a single code point. */
export function upperOf(cp: number): number {
  if (cp < 128) return cp >= 97 && cp <= 122 ? cp - 32 : cp;
  return cached(upperCache, cp, (ch) => ch.toUpperCase());
}

function cached(cache: Map<number, number>, cp: number, map: (ch: string) => string): number {
  let mapped = cache.get(cp);
  if (mapped === undefined) {
    const text = map(String.fromCodePoint(cp));
    const first = text.codePointAt(0)!;
    mapped = text.length === String.fromCodePoint(first).length ? first : cp;
    if (cache.size >= CACHE_MAX) cache.clear();
    cache.set(cp, mapped);
  }
  return mapped;
}

/** Matches `literal` in any case. */
export function literalTest(literal: number): (cp: number) => boolean {
  const lower = lowerOf(literal);
  const upper = upperOf(literal);
  return (cp) =>
    cp === lower || cp === upper || cp === literal ||
    (cp >= 128 && (lowerOf(cp) === lower || upperOf(cp) === upper));
}

/** `.`: any code point but a line terminator. */
export function anyCharTest(cp: number): boolean {
  return cp !== 10 && cp !== 13 && cp !== 0x2028 && cp !== 0x2029;
}

/** Whether `cp` is a `\w` character (ASCII letter, digit or `_`). */
export function isWordChar(cp: number): boolean {
  return (cp >= 48 && cp <= 57) || (cp >= 65 && cp <= 90) || (cp >= 97 && cp <= 122) || cp === 95;
}

const isDigit = (cp: number): boolean => cp >= 48 && cp <= 57;
const SPACES = new Set([
  9,
  10,
  11,
  12,
  13,
  32,
  0xa0,
  0x1680,
  0x2028,
  0x2029,
  0x202f,
  0x205f,
  0x3000,
  0xfeff,
]);
const isSpace = (cp: number): boolean => SPACES.has(cp) || (cp >= 0x2000 && cp <= 0x200a);

/** The test for a class escape letter (`d D w W s S`), or undefined for other letters. */
export function classEscape(letter: string): ((cp: number) => boolean) | undefined {
  switch (letter) {
    case "d":
      return isDigit;
    case "D":
      return (cp) => !isDigit(cp);
    case "w":
      return isWordChar;
    case "W":
      return (cp) => !isWordChar(cp);
    case "s":
      return isSpace;
    case "S":
      return (cp) => !isSpace(cp);
    default:
      return undefined;
  }
}

/** The test for a bracket class of code points, ranges and class escapes. */
export function charSetTest(
  items: readonly (CharItem | [number, number])[],
  negated: boolean,
): (cp: number) => boolean {
  const contains = (cp: number): boolean =>
    items.some((item) =>
      typeof item === "number"
        ? item === cp
        : typeof item === "function"
        ? item(cp)
        : item[0] <= cp && cp <= item[1]
    );
  return (cp) => {
    const found = contains(cp) || contains(lowerOf(cp)) || contains(upperOf(cp));
    return found !== negated;
  };
}
