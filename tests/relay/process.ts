/**
 * The test relay as a child process: spawn it, read the `{"port":N}` line it prints when ready,
 * keep draining its stdout, and stop it with SIGTERM (SIGKILL if it does not exit in time).
 */
import { fileURLToPath } from "node:url";

const RELAY_ENTRY = fileURLToPath(new URL("./relay.ts", import.meta.url));
const CONFIG = fileURLToPath(new URL("../../deno.json", import.meta.url));
const STOP_TIMEOUT_MS = 5_000;

/** A spawned relay process that has reported its port. */
export class RelayProcess {
  /** The port the relay listens on. */
  readonly port: number;
  readonly #child: Deno.ChildProcess;
  readonly #drained: Promise<void>;

  private constructor(child: Deno.ChildProcess, port: number, drained: Promise<void>) {
    this.#child = child;
    this.port = port;
    this.#drained = drained;
  }

  /** Runs relay.ts with `args`; rejects if no port line arrives within `timeoutMs` (default 15 s). */
  static async spawn(args: string[], timeoutMs = 15_000): Promise<RelayProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", "--config", CONFIG, RELAY_ENTRY, ...args],
      stdin: "null",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const drain = async () => {
      while (!(await reader.read()).done) continue;
    };
    const firstLine = readLine(reader);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const line = await Promise.race([firstLine, timeout]);
    clearTimeout(timer);
    const port = line === "timeout" ? undefined : parsePort(line);
    if (port === undefined) {
      kill(child, "SIGKILL");
      await firstLine;
      await drain();
      const { code } = await child.status;
      const why = line === "timeout"
        ? `no port within ${timeoutMs} ms`
        : line
        ? `it printed "${line}"`
        : "it exited before printing its port";
      throw new Error(
        `Cannot start test relay with args "${args.join(" ")}": ${why} (exit ${code})`,
      );
    }
    return new RelayProcess(child, port, drain());
  }

  /** Sends SIGTERM (then SIGKILL after 5 s), waits for exit, releases the pipes; returns the status. */
  async stop(): Promise<Deno.CommandStatus> {
    kill(this.#child, "SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const exited = await Promise.race([
      this.#child.status.then(() => true),
      new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), STOP_TIMEOUT_MS)),
    ]);
    clearTimeout(timer);
    if (!exited) kill(this.#child, "SIGKILL");
    const status = await this.#child.status;
    await this.#drained;
    return status;
  }
}

/** Signals `child` unless it has already exited. */
function kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch (error: unknown) {
    // Deno throws a TypeError when the process has already exited, which is what we want anyway.
    if (!(error instanceof TypeError)) throw error;
  }
}

async function readLine(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text.split("\n")[0] ?? "";
}

function parsePort(line: string): number | undefined {
  try {
    const { port } = JSON.parse(line);
    return Number.isInteger(port) && port > 0 && port < 65536 ? port : undefined;
  } catch (_error: unknown) {
    // Anything but the expected JSON line means the relay did not start.
    return undefined;
  }
}
