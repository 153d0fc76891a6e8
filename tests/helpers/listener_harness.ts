/**
 * The NIP-46 request path in one process, for fault and hostile-input tests that need to reach
 * inside it: a real {@link Listener} over a real {@link SignerPool} (workers and all), one
 * authorization in a small in-memory directory, a publisher that records every reply, and a
 * clients repository that can be made to fail like an unreachable database.
 *
 *   await using h = await ListenerHarness.start({ workers: 1, maxQueue: 2 });
 *   const client = h.newClient();
 *   h.deliver(h.request(client, { id: "1", method: "ping", params: [] }));
 *   await h.settle();
 *   h.repliesTo(client) // → [{ id: "1", result: "pong" }]
 */
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import type { ActiveAuthorization } from "../../src/domain/authorization.ts";
import type { RedeemResult } from "../../src/db/repos/clients.ts";
import type { Log, LogRecord } from "../../src/log.ts";
import {
  type Decision,
  Listener,
  type ListenerDirectory,
  type ListenerOptions,
  type ListenerSigner,
} from "../../src/nip46/listener.ts";
import { PolicyGate } from "../../src/nip46/policy_gate.ts";
import type { NostrEvent } from "../../src/nostr/event.ts";
import { SignerPool, type SignerPoolOptions } from "../../src/signer/pool.ts";
import type { Scheme } from "../../src/signer/protocol.ts";
import {
  clientDecrypt,
  clientRequest,
  sealedKey,
  TEST_MASTER_KEY,
  type TestKey,
} from "../../src/signer/testing.ts";
import { deadline } from "../../src/util/async.ts";
import { sha256Hex } from "../../src/util/hex.ts";
import { Vault } from "../../src/vault/vault.ts";

/** The relay URL the harness pretends every event came in on. */
export const HARNESS_RELAY = "ws://127.0.0.1:1";
/** The connection secret of the harness's authorization. */
export const HARNESS_SECRET = "harness-secret";

/** A client key pair. */
export interface HarnessClient {
  secret: Uint8Array;
  pubkey: string;
}

/** A decrypted reply, with the scheme it was encrypted with. */
export interface HarnessReply {
  id: string;
  result: string;
  error?: string;
  scheme: Scheme;
}

/** Options of {@link ListenerHarness.start}. */
export interface HarnessOptions extends Omit<SignerPoolOptions, "masterKey"> {
  /** The authorization's policy document. Default null (no policy). */
  policy?: unknown;
  /** Wraps the signer the listener uses, to inject faults at an exact step. */
  wrapSigner?: (pool: SignerPool) => ListenerSigner;
  /** Listener settings: its clock and limits. Default the listener's defaults. */
  listener?: Pick<ListenerOptions, "now" | "unconnectedLimits" | "replyCache">;
}

/** A listener, its signer pool and fakes around them. Dispose to stop the workers. */
export class ListenerHarness implements AsyncDisposable {
  /** Every reply the listener published, in order. */
  readonly published: NostrEvent[] = [];
  /** Every decision the listener reported. */
  readonly decisions: Decision[] = [];
  /** Every log record. */
  readonly logs: LogRecord[] = [];
  /** When true, the clients repository throws like an unreachable database. */
  databaseDown = false;
  readonly pool: SignerPool;
  readonly listener: Listener;
  readonly bunker: TestKey;
  readonly user: TestKey;
  #authorization: ActiveAuthorization;

  private constructor(
    pool: SignerPool,
    bunker: TestKey,
    user: TestKey,
    authorization: ActiveAuthorization,
    options: HarnessOptions,
  ) {
    this.pool = pool;
    this.bunker = bunker;
    this.user = user;
    this.#authorization = authorization;
    const log: Log = (record) => void this.logs.push(record);
    const directory: ListenerDirectory = {
      get: (bunkerPubkey) =>
        bunkerPubkey === this.#authorization.bunkerPubkey ? this.#authorization : undefined,
      removed: () => undefined,
      setClient: (_bunkerPubkey, client) => {
        const others = this.#authorization.clients.filter((c) =>
          c.clientPubkey !== client.clientPubkey
        );
        this.#authorization = { ...this.#authorization, clients: [...others, client] };
      },
    };
    this.listener = new Listener({
      directory,
      signer: options.wrapSigner ? options.wrapSigner(pool) : pool,
      publisher: {
        publish: (event) => {
          this.published.push(event);
          return Promise.resolve([]);
        },
      },
      clients: {
        redeem: () => this.#database<RedeemResult>({ status: "redeemed" }),
        logout: () => this.#database(true),
      },
      policy: new PolicyGate(),
      log,
      onDecision: (decision) => void this.decisions.push(decision),
      ...options.listener,
    });
  }

  /** Starts the pool (and waits until its workers are ready) and builds the listener. */
  static async start(options: HarnessOptions = {}): Promise<ListenerHarness> {
    const vault = await Vault.create(TEST_MASTER_KEY);
    const bunker = await sealedKey(vault);
    const user = await sealedKey(vault);
    const { policy = null, wrapSigner: _wrap, listener: _listener, ...poolOptions } = options;
    const pool = new SignerPool({ masterKey: TEST_MASTER_KEY, workers: 1, ...poolOptions });
    try {
      await pool.ready();
    } catch (error) {
      await pool.close();
      throw error;
    }
    const authorization: ActiveAuthorization = {
      id: crypto.randomUUID(),
      keyId: crypto.randomUUID(),
      keyName: "harness",
      userPubkey: user.pubkey,
      userSecretSealed: user.ref.sealed,
      bunkerPubkey: bunker.pubkey,
      bunkerSecretSealed: bunker.ref.sealed,
      secretHash: await sha256Hex(HARNESS_SECRET),
      relays: [HARNESS_RELAY],
      policyName: policy === null ? null : "harness",
      policy,
      maxUses: null,
      expiresAt: null,
      clients: [],
    };
    return new ListenerHarness(pool, bunker, user, authorization, options);
  }

  /** The authorization as the listener sees it now. */
  get authorization(): ActiveAuthorization {
    return this.#authorization;
  }

  /** A fresh client key (not connected). */
  newClient(): HarnessClient {
    const secret = generateSecretKey();
    return { secret, pubkey: getPublicKey(secret) };
  }

  /** A fresh client already bound to the authorization, as if it had connected earlier. */
  connectedClient(): HarnessClient {
    const client = this.newClient();
    this.#authorization = {
      ...this.#authorization,
      clients: [...this.#authorization.clients, { clientPubkey: client.pubkey, loggedOut: false }],
    };
    return client;
  }

  /** A signed kind 24133 request from `client` to the bunker carrying `message` as JSON. */
  request(client: HarnessClient, message: unknown, scheme: Scheme = "nip44"): NostrEvent {
    return clientRequest(client.secret, this.bunker.pubkey, message, scheme);
  }

  /** Hands `event` to the listener as if a relay had delivered it. */
  deliver(event: unknown): void {
    this.listener.handleEvent(event, HARNESS_RELAY);
  }

  /** Waits until the listener has nothing in flight (at most `timeoutMs`). */
  async settle(timeoutMs = 15_000): Promise<void> {
    await deadline(this.listener.drain(timeoutMs), timeoutMs + 1_000);
    if (this.listener.inflight > 0) {
      throw new Error(`${this.listener.inflight} requests still in flight after ${timeoutMs} ms`);
    }
  }

  /** The replies published to `client`, decrypted, in publication order. */
  repliesTo(client: HarnessClient): HarnessReply[] {
    return this.published
      .filter((event) => event.tags.some((tag) => tag[0] === "p" && tag[1] === client.pubkey))
      .map((event) => {
        const scheme: Scheme = event.content.includes("?iv=") ? "nip04" : "nip44";
        const text = clientDecrypt(scheme, client.secret, this.bunker.pubkey, event.content);
        return { ...JSON.parse(text), scheme } as HarnessReply;
      });
  }

  /** Log records whose message is `msg`. */
  logged(msg: string): LogRecord[] {
    return this.logs.filter((record) => record.msg === msg);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.listener.drain(5_000);
    await this.pool.close();
  }

  #database<T>(value: T): Promise<T> {
    if (this.databaseDown) {
      return Promise.reject(new Error("Cannot reach the database: connection refused"));
    }
    return Promise.resolve(value);
  }
}
