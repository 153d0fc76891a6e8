/**
 * `keycast serve` as a child process for the benchmarks. Unlike the test helper it exposes the
 * child's pid (for `/proc` CPU and memory figures), logs at `info` by default (per-request debug
 * lines would be part of what is measured) and times the way to `/health/ready`.
 */
import { deadline, delay } from "../../src/util/async.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
/** The project's deno.json (import map, `worker-options`), whatever the working directory. */
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

/** Options of {@link startBenchServe}. */
export interface BenchServeOptions {
  /** Relay URLs passed as `--relay`. */
  relays: string[];
  /** Data dir (admin token, master key, embedded database). */
  dataDir: string;
  /** Extra environment (e.g. `DATABASE_URL`, `RPC_WORKER_COUNT`). */
  env?: Record<string, string>;
  /** Log level of the child. Default "info". */
  logLevel?: string;
  /** Extra `deno run` flags before the script (e.g. `--cpu-prof`). Default none. */
  denoFlags?: string[];
  /** Extra `serve` flags after the relays (e.g. `--registration open`). Default none. */
  args?: string[];
  /** How long to wait for the "Listening" line, in ms. Default 120_000. */
  timeoutMs?: number;
  /** The script run with `serve` and its flags. Default the repository's `main.ts`. */
  script?: string;
}

/** A running serve child. */
export class BenchServe implements AsyncDisposable {
  /** Base URL of the HTTP API. */
  readonly url: string;
  /** The child's pid. */
  readonly pid: number;
  /** Every stderr line so far (JSON log lines). */
  readonly lines: string[];
  readonly #child: Deno.ChildProcess;
  readonly #token: string;
  readonly #done: Promise<unknown>;

  constructor(
    child: Deno.ChildProcess,
    port: number,
    token: string,
    lines: string[],
    done: Promise<unknown>,
  ) {
    this.#child = child;
    this.pid = child.pid;
    this.url = `http://127.0.0.1:${port}`;
    this.#token = token;
    this.lines = lines;
    this.#done = done;
  }

  /** Polls `/health/ready` every 20 ms until it answers 200; resolves with the time that took, in ms. */
  async waitReady(timeoutMs: number): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < timeoutMs) {
      const response = await deadline(fetch(`${this.url}/health/ready`), 5_000);
      await response.body?.cancel();
      if (response.ok) return performance.now() - started;
      await delay(20);
    }
    throw new Error(`Cannot get ready: /health/ready was not 200 within ${timeoutMs} ms`);
  }

  /** Calls the admin API with the bearer token; throws on a status other than `expect`. */
  async api(method: string, path: string, body: unknown, expect: number[]): Promise<unknown> {
    const response = await deadline(
      fetch(`${this.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.#token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
      30_000,
    );
    const text = await response.text();
    if (!expect.includes(response.status)) {
      throw new Error(
        `Cannot ${method} "${path}": status ${response.status}, ${text.slice(0, 300)}`,
      );
    }
    return text ? JSON.parse(text) : null;
  }

  /** Sends `signal` to the child; false when it had already exited. */
  kill(signal: Deno.Signal): boolean {
    try {
      this.#child.kill(signal);
      return true;
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
      return false;
    }
  }

  /** Resolves once the child has exited and its stderr is read to the end (within `timeoutMs`). */
  async exited(timeoutMs: number): Promise<void> {
    await deadline(this.#done, timeoutMs);
  }

  /** Stops the child with SIGTERM (SIGKILL after 15 s) and waits for it. */
  async stop(): Promise<void> {
    this.kill("SIGTERM");
    try {
      await deadline(this.#done, 15_000);
    } catch {
      // Did not exit within the grace period: kill it and wait for the pipes to close.
      this.#child.kill("SIGKILL");
      await this.#done;
    }
  }

  /** Same as {@link stop}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** Spawns `main.ts serve` (or `script`) on 127.0.0.1 with a free port; resolves once it listens. */
export async function startBenchServe(options: BenchServeOptions): Promise<BenchServe> {
  const env: Record<string, string> = {};
  for (const name of ["HOME", "DENO_DIR", "TMPDIR", "PATH"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      CONFIG,
      ...(options.denoFlags ?? []),
      options.script ?? MAIN,
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...options.relays.flatMap((url) => ["--relay", url]),
      ...(options.args ?? []),
    ],
    env: {
      ...env,
      KEYCAST_DATA_DIR: options.dataDir,
      LOG_LEVEL: options.logLevel ?? "info",
      ...options.env,
    },
    clearEnv: true,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let onPort: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => (onPort = resolve));
  const pump = (async () => {
    let buffer = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (lines.length < 10_000) lines.push(line);
        const port = listeningPort(line);
        if (port !== undefined) onPort(port);
      }
    }
  })();
  const done = Promise.all([pump, child.status]);
  try {
    const port = await deadline(
      Promise.race([
        listening,
        child.status.then((status) => {
          throw new Error(`serve exited with ${status.code} before listening`);
        }),
      ]),
      options.timeoutMs ?? 120_000,
    );
    // The token of the environment wins over the file, as in serve itself.
    const token = options.env?.KEYCAST_ADMIN_TOKEN ||
      (await Deno.readTextFile(`${options.dataDir}/admin.token`)).trim();
    return new BenchServe(child, port, token, lines, done);
  } catch (error) {
    try {
      child.kill("SIGKILL");
    } catch (killError) {
      if (!(killError instanceof TypeError)) throw killError;
    }
    await done;
    throw new Error(
      `Cannot start serve: ${(error as Error).message}\n${lines.slice(-20).join("\n")}`,
    );
  }
}

function listeningPort(line: string): number | undefined {
  if (!line.includes('"Listening"')) return undefined;
  try {
    const port = (JSON.parse(line) as { port?: unknown }).port;
    return typeof port === "number" ? port : undefined;
  } catch {
    return undefined; // not a JSON log line
  }
}
