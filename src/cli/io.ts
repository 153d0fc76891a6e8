/** What a subcommand may touch of the outside world, injected so tests can drive it. */
import { readHiddenLine } from "./hidden_input.ts";

/** Console-like output and input for subcommands. */
export interface CliIo {
  /** Writes `text` to standard output (no newline added). */
  out(text: string): void;
  /** Writes `text` to standard error (no newline added). */
  err(text: string): void;
  /** Reads all of standard input as text (for secrets that must not go through argv). */
  readStdin(): Promise<string>;
  /** Whether standard input is a terminal (someone typing), not a pipe or a file. */
  stdinIsTerminal(): boolean;
  /**
   * Writes `prompt` to standard error and reads one line typed at the terminal without echoing
   * it; undefined when the person cancels (Ctrl-C, Ctrl-D) or input ends.
   */
  readHiddenLine(prompt: string): Promise<string | undefined>;
  /** Standard output for bytes (a backup written to `-`); the caller must not close it. */
  binaryOut(): BinaryOut;
}

/** Standard output as a byte stream. */
export interface BinaryOut {
  /** The stream: write to it, never close it (the process's own stdout). */
  writable: WritableStream<Uint8Array>;
  /** True when it is a terminal (binary data would garble it). */
  isTerminal: boolean;
}

/** Exit codes: 0 success, 1 the operation failed (e.g. the server refused), 2 usage error. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Everything a subcommand receives. */
export interface CommandContext {
  /** Arguments after the subcommand name (and after a group word like `keys`). */
  args: string[];
  /** The process environment as a map. */
  env: ReadonlyMap<string, string>;
  io: CliIo;
  /** HTTP client used by management subcommands. Default: global fetch. */
  fetch: typeof fetch;
}

/** The process's real standard streams. */
export function processIo(): CliIo {
  const encoder = new TextEncoder();
  return {
    out: (text) => void Deno.stdout.writeSync(encoder.encode(text)),
    err: (text) => void Deno.stderr.writeSync(encoder.encode(text)),
    readStdin: async () => await new Response(Deno.stdin.readable).text(),
    stdinIsTerminal: () => Deno.stdin.isTerminal(),
    readHiddenLine,
    binaryOut: () => ({ writable: Deno.stdout.writable, isTerminal: Deno.stdout.isTerminal() }),
  };
}
