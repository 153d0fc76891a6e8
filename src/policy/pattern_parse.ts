/**
 * Parser for the blocked-pattern language: the common subset of JavaScript regular expressions
 * that a linear-time matcher can run (see `pattern.ts`).
 *
 * Supported: literals; `.`; `^` and `$` (start and end of the content); `\b` and `\B`; classes
 * `[a-z]`, `[^…]`; `\d \D \w \W \s \S`; escapes `\n \r \t \f \v \0 \xHH \uHHHH \u{H…}` and escaped
 * syntax characters; groups `(…)` and `(?:…)`; `|`; quantifiers `* + ?` `{n}` `{n,}` `{n,m}`
 * (counts ≤ 100; a trailing lazy `?` is accepted and changes nothing). Everything else
 * (lookarounds, named groups, backreferences, `\p{…}`) is a parse error.
 */
import {
  anyCharTest,
  type CharItem,
  charSetTest,
  classEscape,
  literalTest,
} from "./pattern_chars.ts";

/** A parsed pattern. */
export type PatternNode =
  | { type: "char"; test: (cp: number) => boolean }
  | { type: "assert"; kind: "start" | "end" | "word" | "not-word" }
  | { type: "seq"; items: PatternNode[] }
  | { type: "alt"; options: PatternNode[] }
  | { type: "repeat"; node: PatternNode; min: number; max: number };

/** Raised for a pattern outside the supported language; the message is the reason. */
export class PatternSyntaxError extends Error {}

/** Largest count in `{n,m}`. */
export const MAX_REPEAT = 100;

const SYNTAX = new Set("^$\\.*+?()[]{}|/-");
const SIMPLE_ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, "0": 0 };

/** Parses `source`; throws {@link PatternSyntaxError} with the reason when it cannot. */
export function parsePattern(source: string): PatternNode {
  const parser = new Parser(Array.from(source));
  const node = parser.alternation();
  if (!parser.done()) parser.fail(`unexpected "${parser.peek()}"`);
  return node;
}

class Parser {
  #i = 0;
  constructor(readonly chars: string[]) {}

  done = (): boolean => this.#i >= this.chars.length;
  peek = (offset = 0): string | undefined => this.chars[this.#i + offset];
  next = (): string => this.chars[this.#i++] ?? this.fail("unexpected end of pattern");
  fail(why: string): never {
    throw new PatternSyntaxError(why);
  }

  alternation(): PatternNode {
    const options = [this.sequence()];
    while (this.peek() === "|") {
      this.#i++;
      options.push(this.sequence());
    }
    return options.length === 1 ? options[0]! : { type: "alt", options };
  }

  sequence(): PatternNode {
    const items: PatternNode[] = [];
    while (!this.done() && this.peek() !== "|" && this.peek() !== ")") {
      const atom = this.atom();
      items.push(this.quantified(atom));
    }
    return { type: "seq", items };
  }

  quantified(atom: PatternNode): PatternNode {
    const bounds = this.quantifier();
    if (!bounds) return atom;
    if (atom.type === "assert") this.fail("an assertion cannot be repeated");
    if (this.peek() === "?") this.#i++; // lazy: the same for "is there a match"
    return { type: "repeat", node: atom, min: bounds[0], max: bounds[1] };
  }

  quantifier(): [number, number] | undefined {
    const ch = this.peek();
    if (ch === "*" || ch === "+" || ch === "?") {
      this.#i++;
      return ch === "*" ? [0, Infinity] : ch === "+" ? [1, Infinity] : [0, 1];
    }
    if (ch !== "{") return undefined;
    const text = this.chars.slice(this.#i, this.#i + 12).join("");
    const m = /^\{(\d+)(,(\d*))?\}/.exec(text);
    if (!m) this.fail("a lone { must be escaped as \\{");
    this.#i += m[0].length;
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] ? Number(m[3]) : Infinity;
    if (min > MAX_REPEAT || (max !== Infinity && max > MAX_REPEAT)) {
      this.fail(`repeat counts above ${MAX_REPEAT} are not supported`);
    }
    if (max < min) this.fail(`{${min},${max}} counts are out of order`);
    return [min, max];
  }

  atom(): PatternNode {
    const ch = this.next();
    switch (ch) {
      case "(":
        return this.group();
      case "[":
        return { type: "char", test: this.charClass() };
      case ".":
        return { type: "char", test: anyCharTest };
      case "^":
        return { type: "assert", kind: "start" };
      case "$":
        return { type: "assert", kind: "end" };
      case "\\":
        return this.escape();
      case "*":
      case "+":
      case "?":
      case "{":
        return this.fail(`"${ch}" has nothing to repeat`);
      case "]":
      case "}":
        return this.fail(`a lone ${ch} must be escaped as \\${ch}`);
      default:
        return { type: "char", test: literalTest(ch.codePointAt(0)!) };
    }
  }

  group(): PatternNode {
    if (this.peek() === "?") {
      if (this.peek(1) !== ":") this.fail("lookarounds and named groups are not supported");
      this.#i += 2;
    }
    const inner = this.alternation();
    if (this.next() !== ")") this.fail("missing )");
    return inner;
  }

  escape(): PatternNode {
    const ch = this.peek();
    if (ch === "b" || ch === "B") {
      this.#i++;
      return { type: "assert", kind: ch === "b" ? "word" : "not-word" };
    }
    const item = this.escapeItem();
    return { type: "char", test: typeof item === "number" ? literalTest(item) : item };
  }

  /** After a backslash: a code point or a class test (`\d`…). */
  escapeItem(): CharItem {
    const ch = this.next();
    const cls = classEscape(ch);
    if (cls) return cls;
    if (Object.hasOwn(SIMPLE_ESCAPES, ch) && !/\d/.test(this.peek() ?? "")) {
      return SIMPLE_ESCAPES[ch]!;
    }
    if (SYNTAX.has(ch)) return ch.codePointAt(0)!;
    if (ch === "x") return this.hex(/^[0-9a-fA-F]{2}/, 2);
    if (ch === "u" && this.peek() === "{") {
      const m = /^\{([0-9a-fA-F]{1,6})\}/.exec(this.chars.slice(this.#i, this.#i + 8).join(""));
      if (!m || parseInt(m[1]!, 16) > 0x10ffff) this.fail("bad \\u{…} escape");
      this.#i += m[0].length;
      return parseInt(m[1]!, 16);
    }
    if (ch === "u") return this.hex(/^[0-9a-fA-F]{4}/, 4);
    if (/[1-9]/.test(ch) || ch === "k") this.fail("backreferences are not allowed");
    return this.fail(`the escape \\${ch} is not supported`);
  }

  hex(shape: RegExp, length: number): number {
    const digits = this.chars.slice(this.#i, this.#i + length).join("");
    if (!shape.test(digits)) this.fail("bad hexadecimal escape");
    this.#i += length;
    return parseInt(digits, 16);
  }

  charClass(): (cp: number) => boolean {
    const negated = this.peek() === "^";
    if (negated) this.#i++;
    const items: (CharItem | [number, number])[] = [];
    while (this.peek() !== "]") {
      const low = this.classItem();
      if (this.peek() === "-" && this.peek(1) !== "]" && this.peek(1) !== undefined) {
        this.#i++;
        const high = this.classItem();
        if (typeof low !== "number" || typeof high !== "number") {
          this.fail("a class range needs a single character at each end");
        }
        if (high < low) this.fail("a class range is out of order");
        items.push([low, high]);
      } else {
        items.push(low);
      }
    }
    this.#i++;
    return charSetTest(items, negated);
  }

  classItem(): CharItem {
    const ch = this.next();
    if (ch !== "\\") return ch.codePointAt(0)!;
    if (this.peek() === "b") {
      this.#i++;
      return 8; // backspace inside a class, as in JavaScript
    }
    return this.escapeItem();
  }
}
