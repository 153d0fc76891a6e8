/**
 * Password hashing with scrypt (`node:crypto`), stored in the PHC string format
 * `$scrypt$ln=14,r=8,p=5$<salt>$<hash>` (unpadded standard base64), so the parameters travel
 * with each hash and can be raised later: {@link PasswordHasher.verify} says when a stored hash
 * is weaker than the current parameters, and the caller rehashes on the next successful login.
 *
 * Why scrypt: it ships with the runtime (no WebAssembly to load), and Deno runs `scrypt` on a
 * blocking thread, so the event loop that answers NIP-46 requests never waits for it. The
 * parameters are one of OWASP's equivalent scrypt settings: N = 2^14, r = 8, p = 5 costs what
 * N = 2^17, r = 8, p = 1 costs in CPU, with 16 MiB of memory per hash instead of 128 MiB.
 *
 * A hash takes a quarter of a second of one core, so hashing is rationed: at most `concurrency`
 * run at once (default 1 — on a small server the signing workers keep the other cores), and at
 * most `maxWaiting` wait; past that {@link PasswordBusyError} is thrown, and the caller answers
 * "try again later" instead of queueing unbounded work.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { base64nopad } from "@scure/base";
import { QueueFullError, Semaphore } from "../util/async.ts";

/** scrypt's cost parameters: N = 2^ln, block size r, parallelism p. */
export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
}

/** The parameters new hashes get. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 14, r: 8, p: 5 });

const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** Largest parameters a stored hash may name: a corrupt row must not ask for gigabytes. */
const MAX_LN = 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

/** Raised when too many hashes are already running and waiting. */
export class PasswordBusyError extends Error {
  override name = "PasswordBusyError";
}

/** Raised for a stored hash that is not a PHC scrypt string keycast can read. */
export class PasswordHashFormatError extends Error {
  override name = "PasswordHashFormatError";
}

/** Outcome of {@link PasswordHasher.verify}. */
export interface Verification {
  ok: boolean;
  /** The password matched a hash made with weaker parameters than today's: store a new hash. */
  needsRehash: boolean;
}

/** Options of a {@link PasswordHasher}. */
export interface PasswordHasherOptions {
  /** Parameters of new hashes. Default {@link DEFAULT_SCRYPT_PARAMS}. */
  params?: ScryptParams;
  /** Hashes computed at once. Default 1. */
  concurrency?: number;
  /** Hashes allowed to wait for their turn. Default 32. */
  maxWaiting?: number;
}

/** Hashes and verifies passwords with a bounded amount of work in flight. */
export class PasswordHasher {
  readonly #params: ScryptParams;
  readonly #slots: Semaphore;
  /** A hash of a random password, verified against for unknown users so they cost the same. */
  #decoy: Promise<string> | undefined;

  constructor(opts: PasswordHasherOptions = {}) {
    this.#params = checkParams(opts.params ?? DEFAULT_SCRYPT_PARAMS);
    this.#slots = new Semaphore(opts.concurrency ?? 1, { maxWaiting: opts.maxWaiting ?? 32 });
  }

  /** A new PHC string for `password`, with a fresh salt. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const hash = await this.#derive(password, salt, this.#params, HASH_BYTES);
    return format(this.#params, salt, hash);
  }

  /** Whether `password` matches the PHC string `stored`, compared in constant time. */
  async verify(password: string, stored: string): Promise<Verification> {
    const parsed = parse(stored);
    const actual = await this.#derive(password, parsed.salt, parsed.params, parsed.hash.length);
    const ok = timingSafeEqual(actual, parsed.hash);
    return { ok, needsRehash: ok && weaker(parsed.params, this.#params) };
  }

  /**
   * Spends what {@link verify} spends, for a username that does not exist, so a response's timing
   * does not tell whether an account exists. Always false.
   */
  async verifyNobody(password: string): Promise<false> {
    this.#decoy ??= this.hash(base64nopad.encode(randomBytes(24)));
    await this.verify(password, await this.#decoy);
    return false;
  }

  async #derive(
    password: string,
    salt: Uint8Array,
    params: ScryptParams,
    length: number,
  ): Promise<Buffer> {
    let release;
    try {
      release = await this.#slots.acquire();
    } catch (error) {
      if (error instanceof QueueFullError) {
        throw new PasswordBusyError("Cannot check the password now: too many logins at once");
      }
      throw error;
    }
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        const N = 2 ** params.ln;
        const maxmem = 128 * N * params.r * (params.p + 2);
        scrypt(
          password.normalize("NFKC"),
          salt,
          length,
          { N, r: params.r, p: params.p, maxmem },
          (error, key) => error ? reject(error) : resolve(key),
        );
      });
    } finally {
      release();
    }
  }
}

function format(params: ScryptParams, salt: Uint8Array, hash: Uint8Array): string {
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${base64nopad.encode(salt)}$${
    base64nopad.encode(hash)
  }`;
}

function parse(stored: string): { params: ScryptParams; salt: Uint8Array; hash: Uint8Array } {
  const match =
    /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/
      .exec(stored);
  if (!match) throw new PasswordHashFormatError("Cannot read the stored password hash");
  const params = checkParams({ ln: Number(match[1]), r: Number(match[2]), p: Number(match[3]) });
  let salt: Uint8Array;
  let hash: Uint8Array;
  try {
    salt = base64nopad.decode(match[4]!);
    hash = base64nopad.decode(match[5]!);
  } catch {
    throw new PasswordHashFormatError("Cannot read the stored password hash: bad base64");
  }
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) {
    throw new PasswordHashFormatError("Cannot read the stored password hash: bad lengths");
  }
  return { params, salt, hash };
}

function checkParams(params: ScryptParams): ScryptParams {
  const { ln, r, p } = params;
  const ok = Number.isInteger(ln) && ln >= 1 && ln <= MAX_LN && Number.isInteger(r) && r >= 1 &&
    r <= MAX_R && Number.isInteger(p) && p >= 1 && p <= MAX_P &&
    128 * 2 ** ln * r <= MAX_MEMORY_BYTES;
  if (!ok) throw new PasswordHashFormatError(`Cannot use scrypt parameters ln=${ln},r=${r},p=${p}`);
  return { ln, r, p };
}

/** Whether `old` costs less than `current` in memory or work. */
function weaker(old: ScryptParams, current: ScryptParams): boolean {
  const work = (params: ScryptParams) => 2 ** params.ln * params.r * params.p;
  return 2 ** old.ln * old.r < 2 ** current.ln * current.r || work(old) < work(current);
}
