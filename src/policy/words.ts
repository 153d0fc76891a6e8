/**
 * Blocked words: whole-word, case-insensitive matching without regular expressions.
 *
 * A word (or phrase) matches where it occurs in the content with no letter, digit, mark or `_`
 * directly before or after it — checked only on a side where the word itself starts or ends with
 * such a character, so `#nsfw` also matches in `x#nsfw`. Case is compared after `toLowerCase()`.
 */

const WORD_CHAR = /^[\p{L}\p{N}\p{M}_]$/u;

/** A list of blocked words, lower-cased once. */
export class BlockedWords {
  readonly #words: readonly { original: string; lower: string; start: boolean; end: boolean }[];

  constructor(words: readonly string[]) {
    this.#words = words.map((original) => {
      const lower = original.toLowerCase();
      return { original, lower, start: isWordAt(lower, 0), end: isWordBefore(lower, lower.length) };
    });
  }

  /** Whether there are no words to look for. */
  get empty(): boolean {
    return this.#words.length === 0;
  }

  /** The first blocked word found in `text` (as written in the policy), or undefined. */
  find(text: string): string | undefined {
    const lower = text.toLowerCase();
    for (const word of this.#words) {
      for (let at = lower.indexOf(word.lower); at >= 0; at = lower.indexOf(word.lower, at + 1)) {
        const end = at + word.lower.length;
        if (word.start && isWordBefore(lower, at)) continue;
        if (word.end && isWordAt(lower, end)) continue;
        return word.original;
      }
    }
    return undefined;
  }
}

/** Whether the code point starting at `i` is a word character. */
function isWordAt(text: string, i: number): boolean {
  if (i >= text.length) return false;
  return WORD_CHAR.test(String.fromCodePoint(text.codePointAt(i)!));
}

/** Whether the code point ending just before `i` is a word character. */
function isWordBefore(text: string, i: number): boolean {
  if (i <= 0) return false;
  const low = text.charCodeAt(i - 1);
  const start = low >= 0xdc00 && low <= 0xdfff && i >= 2 ? i - 2 : i - 1;
  return isWordAt(text, start);
}
