/**
 * Runs `keycast serve` for end-to-end tests, as a real child process (`startServe`: main.ts, its
 * "Listening" line tells the port, SIGTERM stops it) or in this process (`startServeInProcess`:
 * `startServer()` itself, for tests where a separate process is not the point). Both keep every
 * log line for assertions and look the same to the test.
 */
import { Config } from "../../src/config/config.ts";
import { parseFlags } from "../../src/config/flags.ts";
import { SERVE_FLAGS } from "../../src/cli/serve_flags.ts";
import { createLogger } from "../../src/log.ts";
import { type ServerDeps, startServer } from "../../src/server.ts";
import { deadline } from "../../src/util/async.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** What a child keycast needs from the test's environment: where Deno keeps its caches. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["HOME", "DENO_DIR", "TMPDIR", "PATH"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** A running server process. */
export interface ServeProcess extends AsyncDisposable {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  /** Every log line (JSON) written so far. */
  lines: string[];
  /** Sends a signal and waits for the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Resolves with the exit code. */
  status: Promise<Deno.CommandStatus>;
}

/** Options for {@link startServe}. */
export interface ServeOptions {
  /** Extra arguments after `serve`. */
  args?: string[];
  /** Environment variables (merged over a minimal base). */
  env?: Record<string, string>;
  /** Milliseconds to wait for "Listening". Default 30_000. */
  timeoutMs?: number;
  /**
   * Deno arguments that run keycast, placed before `serve` (e.g. a bundle run with explicit
   * permissions). Default `["run", "-A", "<repo>/main.ts"]`.
   */
  command?: string[];
  /** Working directory of the child. Default this process's. */
  cwd?: string;
}

/** Starts `main.ts serve --host 127.0.0.1 --port 0 ...` and waits until it listens. */
export async function startServe(opts: ServeOptions = {}): Promise<ServeProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...(opts.command ?? ["run", "-A", MAIN]),
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      ...(opts.args ?? []),
    ],
    cwd: opts.cwd,
    env: { ...baseEnv(), LOG_LEVEL: "debug", ...opts.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  let resolvePort: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => (resolvePort = resolve));
  const pump = (async () => {
    const decoder = child.stderr.pipeThrough(new TextDecoderStream());
    let buffer = "";
    for await (const chunk of decoder) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        lines.push(line);
        const port = listeningPort(line);
        if (port) resolvePort(port);
      }
    }
  })();
  const stdoutDone = child.stdout.cancel();
  const status = child.status.then(async (s) => {
    await pump;
    await stdoutDone;
    return s;
  });
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    try {
      child.kill(signal);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error; // already exited
    }
    return (await status).code;
  };
  let port: number;
  try {
    port = await deadline(
      Promise.race([
        listening,
        status.then((s) => {
          throw new Error(`serve exited with ${s.code} before listening:\n${lines.join("\n")}`);
        }),
      ]),
      opts.timeoutMs ?? 30_000,
    );
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    lines,
    stop,
    status,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}

/**
 * Starts `startServer()` in this process with the same flags and environment `startServe` would
 * give the child (`--host 127.0.0.1 --port 0`, debug logs), and the same interface: `stop()`
 * shuts it down and answers 0 (the signal is ignored: there is no process to signal).
 */
export async function startServeInProcess(
  opts: Pick<ServeOptions, "args" | "env"> & {
    /** What `startServer` takes besides its logger (e.g. an HTTP grant resolver). */
    deps?: Omit<ServerDeps, "log">;
  } = {},
): Promise<ServeProcess> {
  const parsed = parseFlags(
    ["--host", "127.0.0.1", "--port", "0", ...(opts.args ?? [])],
    SERVE_FLAGS,
  );
  const env = new Map(Object.entries({ LOG_LEVEL: "debug", ...opts.env }));
  const config = new Config(env, parsed.values);
  const problems = [...parsed.problems, ...config.validate()];
  if (problems.length > 0) throw new Error(`Cannot start serve: ${problems.join("; ")}`);
  const lines: string[] = [];
  const log = createLogger({
    level: config.logLevel,
    format: "json",
    write: (line) => void lines.push(line),
  });
  const server = await startServer(config, { ...opts.deps, log });
  const status = server.finished.then((): Deno.CommandStatus => ({
    success: true,
    code: 0,
    signal: null,
  }));
  const stop = async () => {
    await server.shutdown();
    return 0;
  };
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    lines,
    stop,
    status,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}

/** Runs `main.ts` with `args` to completion and returns its exit code and output. */
export async function runKeycast(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { ...baseEnv(), ...opts.env },
    clearEnv: true,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(opts.stdin ?? ""));
  await writer.close();
  const output = await child.output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

function listeningPort(line: string): number | undefined {
  if (!line.includes('"Listening"')) return undefined;
  try {
    const port = (JSON.parse(line) as { port?: unknown }).port;
    return typeof port === "number" ? port : undefined;
  } catch {
    return undefined;
  }
}
