/**
 * `ServiceHarness`: the {@link ServiceDeps} the service tests call the services with. This file
 * holds no tests (the other `*.test.ts` files here import it; a test in it would run once more for
 * each of them).
 *
 * Real collaborators: repositories over the test database, a `Vault` with a random master key, an
 * `AuthorizationChannel` read through one subscription, `AuthorizationChanges`. Stand-ins: a fixed
 * clock, a log that keeps every record, and a fake listener link that records its calls. A journal
 * records, in order, each repository write once it completed (`db:authorizations.create`), each
 * channel send (`send:upsert`) and each listener call (`listener:sendPairingReply`), so a test can
 * check that a command follows its write and that a pairing reply follows its upsert.
 */
import assert from "node:assert/strict";
import { AuthorizationChannel, type ChannelSubscription } from "../channel/channel.ts";
import type { AuthorizationCommand } from "../channel/command.ts";
import type { Db } from "../db/db.ts";
import { createRepos, type Repos } from "../db/repos/repos.ts";
import type { LogRecord } from "../log.ts";
import { Vault } from "../vault/vault.ts";
import { AuthorizationChanges } from "./changes.ts";
import { PasswordHasher } from "../accounts/password.ts";
import { LoginThrottle, type ThrottleLimits } from "../accounts/throttle.ts";
import type { SharedThrottle } from "../cluster/login_throttle.ts";
import { SignerCore } from "../signer/core.ts";
import type {
  AccountSettings,
  KeyWorker,
  ListenerLink,
  PairingReply,
  ServiceDeps,
} from "./deps.ts";
import { ServiceError, type ServiceErrorKind } from "./errors.ts";

/** The clock every harness uses unless told otherwise: 2099-01-01T00:00:00Z, in ms. */
export const FIXED_NOW = Date.parse("2099-01-01T00:00:00.000Z");

/** Relays the harness gives the services as the server's `--relay` list. */
export const DEFAULT_RELAYS: readonly string[] = ["wss://default.example.com"];

/** Options of {@link ServiceHarness.create}; each overrides one dependency. */
export interface HarnessOptions {
  /** The fixed clock, in ms since the epoch. Default {@link FIXED_NOW}. */
  now?: number;
  /** The server's default relays. Default {@link DEFAULT_RELAYS}. */
  defaultRelays?: readonly string[];
  /** Stands in for the listener's subscription wait. Default: subscribed at once. */
  awaitSubscribed?: ListenerLink["awaitSubscribed"];
  /** Stands in for sending a pairing reply. Default: a relay accepted it. */
  sendPairingReply?: ListenerLink["sendPairingReply"];
  /** True to run without a listener. */
  noListener?: boolean;
  /** Bound of the subscription wait, in ms. Default: the service's own default. */
  subscribeTimeoutMs?: number;
  /** Account settings; default: registration by invite, sessions of 7 days idle, 30 days. */
  accountSettings?: Partial<AccountSettings>;
  /** Limits of the login throttle. Default: the server's. */
  throttleLimits?: Partial<ThrottleLimits>;
  /** A throttle shared with other instances (`--cluster`). Default: none. */
  sharedThrottle?: SharedThrottle;
}

/** Cheap scrypt parameters: the account tests hash hundreds of passwords. */
const TEST_SCRYPT_PARAMS = { ln: 8, r: 8, p: 1 };

/** Repository methods that write, by repository; the journal records these once they resolve. */
const WRITES: Readonly<Record<keyof Repos, readonly string[]>> = {
  keys: ["create"],
  policies: ["create", "updateRules", "delete", "deleteDetachingRevoked"],
  authorizations: ["create", "revoke"],
  clients: ["redeem", "logout", "touch"],
  audit: ["insertMany", "pruneBefore"],
  nip98Replays: ["remember", "pruneExpired"],
  accounts: ["register", "setPasswordHash", "setDisabled"],
  sessions: ["create", "keepNewest", "touch", "delete", "deleteAllOf", "prune"],
  invites: ["create", "deleteUnused"],
  accountEvents: ["add", "prune"],
  oauth: [
    "putClient",
    "deleteClient",
    "createCode",
    "claimCode",
    "markReplayed",
    "trimTokens",
    "createGrant",
    "revokeGrant",
    "createToken",
    "claimRefresh",
    "prune",
  ],
};

/** Service dependencies over a test database, with what they did recorded for assertions. */
export class ServiceHarness implements Disposable {
  /** Repository writes, channel sends and listener calls, in the order they happened. */
  readonly journal: string[] = [];
  /** Every record the services logged. */
  readonly logs: LogRecord[] = [];
  /** Every pairing reply the fake listener was asked to send. */
  readonly replies: PairingReply[] = [];
  /** Each `awaitSubscribed` call: the bunker pubkey and the signal it was given. */
  readonly subscribeCalls: { bunkerPubkey: string; signal: AbortSignal }[] = [];
  /** The channel the services send on. */
  readonly channel: AuthorizationChannel;
  /** The repositories the services use (writes are journaled). */
  readonly repos: Repos;
  /** What the services are called with. */
  readonly deps: ServiceDeps;
  /** The services' clock (ms since the epoch); tests move it. */
  readonly clock = { ms: FIXED_NOW };
  /** The login throttle the account services use. */
  readonly throttle: LoginThrottle;
  readonly #subscription: ChannelSubscription;

  private constructor(db: Db, readonly vault: Vault, opts: HarnessOptions) {
    const journal = this.journal;
    this.throttle = new LoginThrottle(opts.throttleLimits);
    this.channel = new JournaledChannel(journal);
    this.#subscription = this.channel.subscribe();
    const repos = createRepos(db);
    // The people's tables follow the harness clock, so session expiry and throttling can be
    // tested by moving it.
    const clocked = createRepos(db, { now: () => this.clock.ms });
    this.repos = {
      keys: journaled(repos.keys, "keys", journal),
      policies: journaled(repos.policies, "policies", journal),
      authorizations: journaled(repos.authorizations, "authorizations", journal),
      clients: journaled(repos.clients, "clients", journal),
      audit: journaled(repos.audit, "audit", journal),
      nip98Replays: journaled(repos.nip98Replays, "nip98Replays", journal),
      accounts: journaled(clocked.accounts, "accounts", journal),
      sessions: journaled(clocked.sessions, "sessions", journal),
      invites: journaled(clocked.invites, "invites", journal),
      accountEvents: journaled(clocked.accountEvents, "accountEvents", journal),
      oauth: journaled(clocked.oauth, "oauth", journal),
    };
    this.clock.ms = opts.now ?? FIXED_NOW;
    const awaitSubscribed = opts.awaitSubscribed ?? (() => Promise.resolve(true));
    const sendPairingReply = opts.sendPairingReply ?? (() => Promise.resolve(true));
    this.deps = {
      repos: this.repos,
      vault,
      changes: new AuthorizationChanges(this.repos.authorizations, this.channel),
      log: (record) => this.logs.push(record),
      now: () => this.clock.ms,
      defaultRelays: opts.defaultRelays ?? DEFAULT_RELAYS,
      listener: opts.noListener ? undefined : {
        awaitSubscribed: (bunkerPubkey, signal) => {
          journal.push("listener:awaitSubscribed");
          this.subscribeCalls.push({ bunkerPubkey, signal });
          return awaitSubscribed(bunkerPubkey, signal);
        },
        sendPairingReply: (pairing) => {
          journal.push("listener:sendPairingReply");
          this.replies.push(pairing);
          return sendPairingReply(pairing);
        },
      },
      subscribeTimeoutMs: opts.subscribeTimeoutMs,
      accounts: {
        passwords: new PasswordHasher({ params: TEST_SCRYPT_PARAMS, concurrency: 2 }),
        keyWorker: coreKeyWorker(new SignerCore(vault)),
        throttle: this.throttle,
        sharedThrottle: opts.sharedThrottle,
        settings: {
          registration: "invite",
          sessionIdleMs: 7 * 86_400_000,
          sessionMaxMs: 30 * 86_400_000,
          ...opts.accountSettings,
        },
      },
      oauth: { mode: "open", accessTtlMs: 3_600_000, refreshTtlMs: 30 * 86_400_000 },
    };
  }

  /** A harness over `db` (which the caller keeps owning). */
  static async create(db: Db, opts: HarnessOptions = {}): Promise<ServiceHarness> {
    const vault = await Vault.create(crypto.getRandomValues(new Uint8Array(32)));
    return new ServiceHarness(db, vault, opts);
  }

  /** Commands sent and not yet taken. */
  get pending(): number {
    return this.#subscription.pending;
  }

  /** Every command sent since the last call, in order (only those already sent: never waits). */
  async takeCommands(): Promise<AuthorizationCommand[]> {
    const commands: AuthorizationCommand[] = [];
    while (this.#subscription.pending > 0) {
      const command = await this.#subscription.next();
      if (command) commands.push(command);
    }
    return commands;
  }

  /** The log records as JSON, errors with their name and message, to search for secrets. */
  logText(): string {
    return JSON.stringify(
      this.logs,
      (_key, value: unknown) =>
        value instanceof Error ? { name: value.name, message: value.message } : value,
    );
  }

  /** Detaches the subscription and closes the channel. */
  [Symbol.dispose](): void {
    this.#subscription[Symbol.dispose]();
    this.channel.close();
  }
}

/** Awaits `promise`, asserts it rejects with a {@link ServiceError} of `kind` on `field`, returns it. */
export async function serviceError(
  promise: Promise<unknown>,
  kind: ServiceErrorKind,
  field?: string,
): Promise<ServiceError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ServiceError, `expected a ServiceError, got ${String(caught)}`);
  assert.deepEqual({ kind: caught.kind, field: caught.field }, { kind, field }, caught.message);
  return caught;
}

/** The signer's key operations run on this thread, as the pool runs them in its workers. */
function coreKeyWorker(core: SignerCore): KeyWorker {
  return {
    generateKey: () => core.generateKey(),
    exportKey: ({ key, password, logN }) => core.exportKey(key, password, logN),
  };
}

class JournaledChannel extends AuthorizationChannel {
  constructor(private readonly journal: string[]) {
    super();
  }

  override send(command: AuthorizationCommand): void {
    this.journal.push(`send:${command.type}`);
    super.send(command);
  }
}

/** `repo` with each write method journaled as `db:<table>.<method>` once it resolved. */
function journaled<K extends keyof Repos>(repo: Repos[K], table: K, journal: string[]): Repos[K] {
  const writes = WRITES[table];
  return new Proxy(repo, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      // Bound to the repository itself, so methods reading private fields work through the proxy.
      const method = (value as (...args: unknown[]) => unknown).bind(target);
      if (typeof prop !== "string" || !writes.includes(prop)) return method;
      return async (...args: unknown[]) => {
        const result = await method(...args);
        journal.push(`db:${table}.${prop}`);
        return result;
      };
    },
  });
}
