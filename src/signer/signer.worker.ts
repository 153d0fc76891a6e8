/**
 * Entry point of one signing worker; the main thread talks to it only through {@link SignerPool}.
 *
 * The pool starts it with no permissions at all (no net, env, fs, run, ffi or sys): it needs none,
 * because WebCrypto and the pure-JS curve code do not touch the system. The message handler is
 * registered synchronously at module evaluation, before any `await`, so messages posted right
 * after `new Worker()` are never lost. The first message is `init` with the master key; the worker
 * answers `ready` once its vault exists, and jobs that arrive before that wait for it. Each job is
 * answered exactly once.
 *
 * Test-only ops (`crash`, `stall`, `permissions`, `garbage`) run only when `init` enabled them;
 * otherwise they are refused.
 */
/// <reference lib="deno.worker" />
import { Vault } from "../vault/vault.ts";
import { SignerCore } from "./core.ts";
import { InvalidJobError, KeyUnavailableError, toWireError } from "./errors.ts";
import { type FromWorker, type Job, parseToWorker, type ResultOf } from "./protocol.ts";

const MAX_STALL_MS = 10_000;
const PERMISSION_NAMES = ["net", "env", "read", "write", "run", "ffi", "sys", "import"] as const;
let signer: Promise<SignerCore> | undefined;
let debugOps = false;

// An error that escapes a handler ends this worker: report it as one message and close, instead
// of letting the runtime print a stack trace and raise an error event on the main thread. The
// pool replaces the worker either way.
function crashed(event: Event, error: unknown): void {
  event.preventDefault();
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  post({ type: "crashed", message });
  self.close();
}
self.addEventListener("error", (event) => crashed(event, event.error ?? event.message));
self.addEventListener("unhandledrejection", (event) => crashed(event, event.reason));

self.onmessage = (event: MessageEvent<unknown>) => {
  const message = parseToWorker(event.data);
  if (!message) {
    const id = (event.data as { id?: unknown } | null)?.id;
    if (Number.isSafeInteger(id)) {
      fail(id as number, new InvalidJobError("Cannot run job: malformed message"));
    }
    return; // Without an id there is nobody to answer; the pool times the job out.
  }
  if (message.type === "init") {
    if (signer) return; // Sent once per worker; a repeat must not replace the vault.
    debugOps = message.debugOps;
    signer = Vault.create(message.masterKey, message.masterKeyId).then((vault) =>
      new SignerCore(vault)
    );
    // A failure is reported to every job that awaits `signer` (and `ready` never comes).
    signer.then(() => post({ type: "ready" }), () => undefined);
    return;
  }
  if (message.job.op === "crash" && debugOps) {
    // Deliberately uncaught: the worker must report the crash and the pool must replace it.
    throw new Error("Signer worker crashed on purpose (debug op)");
  }
  void run(message.id, message.job);
};

async function run(id: number, job: Job): Promise<void> {
  let value: unknown;
  try {
    value = await execute(job);
  } catch (error) {
    fail(id, error);
    return;
  }
  post({ type: "result", id, ok: true, value });
}

function fail(id: number, error: unknown): void {
  post({ type: "result", id, ok: false, error: toWireError(error) });
}

function post(message: FromWorker): void {
  self.postMessage(message);
}

async function execute(job: Job): Promise<unknown> {
  if (!signer) {
    throw new InvalidJobError(`Cannot run job "${job.op}": the worker was not initialised`);
  }
  let core: SignerCore;
  try {
    core = await signer;
  } catch (error) {
    throw new KeyUnavailableError(`Cannot create the worker's vault: ${(error as Error).message}`);
  }
  switch (job.op) {
    case "unwrap":
      return await core.unwrap(job) satisfies ResultOf<typeof job>;
    case "respond":
      return await core.respond(job) satisfies ResultOf<typeof job>;
    case "reject":
      return await core.reject(job) satisfies ResultOf<typeof job>;
    case "perform":
      return await core.perform(job.action) satisfies ResultOf<typeof job>;
    case "sign":
      return await core.signWithKey(job.key, job.template) satisfies ResultOf<typeof job>;
    case "generate":
      return await core.generateKey() satisfies ResultOf<typeof job>;
    case "export":
      return await core.exportKey(job.key, job.password, job.logN) satisfies ResultOf<typeof job>;
    case "stall": {
      if (!debugOps) {
        throw new InvalidJobError('Cannot run debug op "stall": debug ops are disabled');
      }
      const ms = Math.min(Math.max(job.ms || 0, 0), MAX_STALL_MS);
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // Busy on purpose: simulates a job that hogs the worker's thread.
      }
      return null satisfies ResultOf<typeof job>;
    }
    case "permissions": {
      if (!debugOps) {
        throw new InvalidJobError('Cannot run debug op "permissions": debug ops are disabled');
      }
      return Object.fromEntries(
        PERMISSION_NAMES.map((name) => [name, Deno.permissions.querySync({ name }).state]),
      ) satisfies ResultOf<typeof job>;
    }
    case "garbage":
      if (!debugOps) {
        throw new InvalidJobError('Cannot run debug op "garbage": debug ops are disabled');
      }
      return "nonsense"; // Not a `ResultOf<typeof job>` (null), on purpose: the pool must refuse it.
    case "crash":
      throw new InvalidJobError('Cannot run debug op "crash": debug ops are disabled');
  }
}
