/**
 * Reading a line typed at the terminal without echoing it (a password): standard input goes into
 * raw mode for the read and back out after it, whatever happens. {@link typeKeys} is the line
 * editing, kept apart so it can be tested without a terminal.
 */

/** What a chunk of keystrokes did to the line being typed. */
export type LineStep =
  | { kind: "more"; line: string }
  | { kind: "done"; line: string }
  | { kind: "cancelled" };

/**
 * Applies the keystrokes in `input` to `line`: Enter ends the line, Backspace deletes the last
 * character, Ctrl-U the whole line, Ctrl-C cancels and so does Ctrl-D on an empty line. Escape
 * sequences (arrow keys) and other control characters are dropped.
 */
export function typeKeys(line: string, input: string): LineStep {
  let typed = [...line];
  const chars = [...input];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    switch (char) {
      case "\r":
      case "\n":
        return { kind: "done", line: typed.join("") };
      case "\x03":
        return { kind: "cancelled" };
      case "\x04":
        if (typed.length === 0) return { kind: "cancelled" };
        break;
      case "\x7f":
      case "\b":
        typed.pop();
        break;
      case "\x15":
        typed = [];
        break;
      case "\x1b":
        i = escapeEnd(chars, i);
        break;
      default:
        if (!/\p{Cc}/u.test(char)) typed.push(char);
    }
  }
  return { kind: "more", line: typed.join("") };
}

/** The index of the last character of the escape sequence starting at `start`. */
function escapeEnd(chars: readonly string[], start: number): number {
  const kind = chars[start + 1];
  if (kind === "O") return Math.min(start + 2, chars.length - 1);
  if (kind !== "[") return start;
  let i = start + 2;
  // Parameter and intermediate bytes, then one final byte from "@" to "~".
  while (i < chars.length && !/[@-~]/.test(chars[i]!)) i++;
  return Math.min(i, chars.length - 1);
}

/**
 * Writes `prompt` to standard error and reads one line from the terminal on standard input with
 * echo off; undefined when the person cancels or input ends. Standard input must be a terminal.
 */
export async function readHiddenLine(prompt: string): Promise<string | undefined> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const buffer = new Uint8Array(1024);
  Deno.stderr.writeSync(encoder.encode(prompt));
  // Raw, not cbreak: Ctrl-C arrives as a key, so the terminal is always restored below.
  Deno.stdin.setRaw(true);
  try {
    let line = "";
    for (;;) {
      const read = await Deno.stdin.read(buffer);
      if (read === null) return undefined;
      const step = typeKeys(line, decoder.decode(buffer.subarray(0, read), { stream: true }));
      if (step.kind === "cancelled") return undefined;
      if (step.kind === "done") return step.line;
      line = step.line;
    }
  } finally {
    Deno.stdin.setRaw(false);
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}
