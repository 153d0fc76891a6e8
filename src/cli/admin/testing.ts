/**
 * Test doubles for the management subcommands: a fake `fetch` that records requests and answers
 * from a handler, and a {@link CommandContext} whose output is captured.
 */
import type { CliIo, CommandContext } from "../io.ts";

/** Admin token the fake contexts carry in `KEYCAST_ADMIN_TOKEN`. */
export const TEST_TOKEN = "test-admin-token-0123456789abcdef";

/** One request the fake server received. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/api/audit?limit=100`. */
  path: string;
  url: string;
  headers: Headers;
  /** The parsed JSON body, or undefined. */
  body: unknown;
}

/** A fake server: its `fetch`, and the requests it received. */
export interface FakeServer {
  fetch: typeof fetch;
  requests: RecordedRequest[];
}

/** A `fetch` that answers with `handler` (default: 200 `{}`) and records every request. */
export function fakeServer(
  handler: (request: RecordedRequest) => Response | Promise<Response> = () => json({}),
): FakeServer {
  const requests: RecordedRequest[] = [];
  const fakeFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const text = await request.text();
    const url = new URL(request.url);
    const recorded: RecordedRequest = {
      method: request.method,
      path: url.pathname + url.search,
      url: request.url,
      headers: request.headers,
      body: text === "" ? undefined : JSON.parse(text),
    };
    requests.push(recorded);
    return await handler(recorded);
  };
  return { fetch: fakeFetch as typeof fetch, requests };
}

/** A JSON response. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/** A context with captured output; the admin token comes from the environment by default. */
export interface TestContext extends CommandContext {
  stdout(): string;
  stderr(): string;
  /** How many times a command read standard input. */
  stdinReads(): number;
  /** The prompts written for hidden input, in order. */
  prompts(): string[];
  /** The bytes written to standard output as a stream ({@link CliIo.binaryOut}). */
  stdoutBytes(): Uint8Array;
}

/** Builds a {@link TestContext} for `args`. */
export function testContext(
  args: string[],
  options: {
    fetch?: typeof fetch;
    env?: Record<string, string>;
    stdin?: string;
    /**
     * Lines typed at hidden prompts, in order (undefined: the person cancels). Given, standard
     * input is a terminal; absent, it is not.
     */
    typed?: Array<string | undefined>;
    /** Whether standard output claims to be a terminal. Default false. */
    stdoutIsTerminal?: boolean;
  } = {},
): TestContext {
  let out = "";
  let err = "";
  let reads = 0;
  const prompts: string[] = [];
  const typed = [...(options.typed ?? [])];
  const bytes: Uint8Array[] = [];
  const io: CliIo = {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    readStdin: () => {
      reads++;
      return Promise.resolve(options.stdin ?? "");
    },
    stdinIsTerminal: () => options.typed !== undefined,
    readHiddenLine: (prompt) => {
      prompts.push(prompt);
      if (typed.length === 0) throw new Error(`Nothing typed for the prompt "${prompt}"`);
      return Promise.resolve(typed.shift());
    },
    binaryOut: () => ({
      writable: new WritableStream<Uint8Array>({ write: (chunk) => void bytes.push(chunk) }),
      isTerminal: options.stdoutIsTerminal ?? false,
    }),
  };
  return {
    args,
    env: new Map(Object.entries(options.env ?? { KEYCAST_ADMIN_TOKEN: TEST_TOKEN })),
    io,
    fetch: options.fetch ?? fakeServer().fetch,
    stdout: () => out,
    stderr: () => err,
    stdinReads: () => reads,
    prompts: () => [...prompts],
    stdoutBytes: () => new Uint8Array(bytes.flatMap((chunk) => [...chunk])),
  };
}
