/**
 * `TestApp`: the admin API over a test database with a real `Vault` (random master key), a real
 * `AuthorizationChannel` (with one subscriber collecting what is sent) and a known admin token and
 * NIP-98 admin key. A journal records, in order, each committed write statement (`db:insert into
 * authorizations`) and each command sent (`send:upsert`), so tests can check that the database
 * write happens before the channel command. Disposing it closes the channel, not the database.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { base64, base64urlnopad } from "@scure/base";
import type { Hono } from "hono";
import { finalizeEvent, generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { AuthorizationChannel, type ChannelSubscription } from "../../src/channel/channel.ts";
import type { AuthorizationCommand } from "../../src/channel/command.ts";
import {
  DeleteQueryNode,
  InsertQueryNode,
  type KyselyPlugin,
  type OperationNode,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  TableNode,
  type UnknownRow,
  UpdateQueryNode,
} from "kysely";
import type { Db } from "../../src/db/db.ts";
import { PasswordHasher } from "../../src/accounts/password.ts";
import { LoginThrottle } from "../../src/accounts/throttle.ts";
import { CsrfTokens } from "../../src/accounts/tokens.ts";
import { SignerCore } from "../../src/signer/core.ts";
import type { AccountSettings, OAuthSettings } from "../../src/service/deps.ts";
import { createRepos, type Repos } from "../../src/db/repos/repos.ts";
import { createApp } from "../../src/http/app.ts";
import { instanceList } from "../../src/server/instances.ts";
import type { AppDeps, AppVariables, SignerStatus } from "../../src/http/types.ts";
import { type Log, silentLog } from "../../src/log.ts";
import { encodeHex } from "../../src/util/hex.ts";
import { Vault } from "../../src/vault/vault.ts";
import { AuthorizationChanges } from "../../src/service/changes.ts";
import type { ListenerLink, ServiceDeps, SnapshotSource } from "../../src/service/deps.ts";

/** A parsed JSON response body (a parsed boundary: tests index into it freely). */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** Base URL `app.request()` uses; NIP-98 `u` tags must start with it. */
export const TEST_ORIGIN = "http://localhost";

/** Options of {@link TestApp.create}; each overrides one dependency. */
export interface TestAppOptions
  extends Partial<Pick<AppDeps, "maxBodyBytes" | "bodyTimeoutMs" | "version">> {
  /** The server's default relays. Default `["ws://127.0.0.1:7777"]`. */
  defaultRelays?: string[];
  /** Stands in for the listener's subscription wait. Default: subscribed at once. */
  awaitSubscribed?: ListenerLink["awaitSubscribed"];
  /** Stands in for sending a pairing reply. Default: accepted by a relay. */
  sendPairingReply?: ListenerLink["sendPairingReply"];
  /** True to run without a listener (pairing then answers 503). */
  noListener?: boolean;
  /** How long creating an authorization waits for the listener, in ms. */
  subscribeTimeoutMs?: number;
  /** The clock, in ms. Default `Date.now`. */
  now?: () => number;
  /** The origins NIP-98 `u` tags may name. Default: {@link TEST_ORIGIN}. */
  origins?: () => readonly string[];
  /** The NIP-98 admin's secret key. Default: a fresh one. */
  adminSecretKey?: Uint8Array;
  /** The admin bearer token. Default: a fresh one. */
  token?: string;
  /** The logger. Default silent. */
  log?: Log;
  /** The database copier behind `POST /api/backup`. Default none (backups answer 503). */
  snapshots?: SnapshotSource;
  /** Account settings; default: open registration, sessions of 7 days idle, 30 days. */
  accountSettings?: Partial<AccountSettings>;
  /** HTTP signing behind `POST /api/nostr`. Default none (the route answers 503). */
  httpSigning?: AppDeps["httpSigning"];
  /** OAuth settings; default: open, access tokens of 1 hour, refresh tokens of 30 days. */
  oauth?: Partial<OAuthSettings>;
  /** The instances behind `GET /api/instances`. Default: this one alone, without `--cluster`. */
  instances?: AppDeps["instances"];
}

/** Fields of a NIP-98 event a test may override. */
export interface Nip98Overrides {
  /** Signing key. Default: the admin key. */
  secretKey?: Uint8Array;
  /** Event kind. Default 27235. */
  kind?: number;
  /** `created_at` in unix seconds. Default: the app clock. */
  createdAt?: number;
  /** Replaces the generated tags entirely. */
  tags?: string[][];
}

/** The admin API wired to real collaborators for tests. */
export class TestApp implements AsyncDisposable {
  /** Write statements and channel sends, in the order they completed. */
  readonly journal: string[] = [];
  /** Listener status reported by `/health`; tests mutate it. */
  readonly status: SignerStatus = {
    loadedAuthorizations: 0,
    pendingCommands: 0,
    workers: 1,
    queueDepth: 0,
    ready: true,
    relays: [{ url: "ws://127.0.0.1:7777", connected: true, subscribed: true }],
  };
  /** The Hono app under test. */
  app!: Hono<{ Variables: AppVariables }>;
  /** The services the app calls (tests may call them directly). */
  services!: ServiceDeps;
  /** The database, wrapped to journal committed writes. */
  readonly db: Db;
  /** Repositories over {@link db}. */
  readonly repos: Repos;
  /** The admin token (Bearer). */
  readonly token: string;
  /** Secret key of the NIP-98 admin. */
  readonly adminSecretKey: Uint8Array;
  /** Hex pubkey of the NIP-98 admin. */
  readonly adminPubkey: string;
  /** The clock the app uses, in ms. */
  readonly now: () => number;
  /** The channel, journaling each send. */
  readonly channel: AuthorizationChannel;
  /** The login throttle of the account services. */
  readonly throttle = new LoginThrottle();
  /** The CSRF tokens of the web pages' forms. */
  readonly csrf = new CsrfTokens(crypto.getRandomValues(new Uint8Array(32)));
  readonly #subscription: ChannelSubscription;

  private constructor(
    db: Db,
    /** The vault (random master key). */
    readonly vault: Vault,
    opts: TestAppOptions,
  ) {
    this.token = opts.token ?? base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(32)));
    this.adminSecretKey = opts.adminSecretKey ?? generateSecretKey();
    this.adminPubkey = getPublicKey(this.adminSecretKey);
    this.channel = new JournaledChannel(this.journal);
    this.db = journaledDb(db, this.journal);
    this.now = opts.now ?? Date.now;
    this.repos = createRepos(this.db, { now: this.now });
    this.#subscription = this.channel.subscribe();
  }

  /** Builds the app over `db` (which the caller keeps owning). */
  static async create(db: Db, opts: TestAppOptions = {}): Promise<TestApp> {
    const vault = await Vault.create(crypto.getRandomValues(new Uint8Array(32)));
    const testApp = new TestApp(db, vault, opts);
    const channel = testApp.channel;
    const log: Log = opts.log ?? silentLog;
    const core = new SignerCore(vault);
    testApp.services = {
      repos: testApp.repos,
      vault,
      changes: new AuthorizationChanges(testApp.repos.authorizations, channel),
      log,
      now: testApp.now,
      defaultRelays: opts.defaultRelays ?? ["ws://127.0.0.1:7777"],
      listener: opts.noListener ? undefined : {
        awaitSubscribed: opts.awaitSubscribed ?? (() => Promise.resolve(true)),
        sendPairingReply: opts.sendPairingReply ?? (() => Promise.resolve(true)),
      },
      subscribeTimeoutMs: opts.subscribeTimeoutMs,
      snapshots: opts.snapshots,
      accounts: {
        passwords: new PasswordHasher({ params: { ln: 8, r: 8, p: 1 }, concurrency: 2 }),
        keyWorker: {
          generateKey: () => core.generateKey(),
          exportKey: ({ key, password, logN }) => core.exportKey(key, password, logN),
        },
        throttle: testApp.throttle,
        settings: {
          registration: "open",
          sessionIdleMs: 7 * 86_400_000,
          sessionMaxMs: 30 * 86_400_000,
          ...opts.accountSettings,
        },
      },
      oauth: {
        mode: "open",
        accessTtlMs: 3_600_000,
        refreshTtlMs: 30 * 86_400_000,
        ...opts.oauth,
      },
    };
    testApp.app = createApp({
      services: testApp.services,
      pingDatabase: (timeoutMs) => testApp.db.ping(timeoutMs),
      version: opts.version ?? "0.0.0-test",
      adminTokenHash: sha256(new TextEncoder().encode(testApp.token)),
      adminPubkeys: [testApp.adminPubkey],
      origins: opts.origins ?? (() => [TEST_ORIGIN]),
      signerStatus: () => testApp.status,
      maxBodyBytes: opts.maxBodyBytes,
      bodyTimeoutMs: opts.bodyTimeoutMs,
      csrf: testApp.csrf,
      httpSigning: opts.httpSigning,
      instances: opts.instances ??
        instanceList({ version: opts.version ?? "0.0.0-test", address: () => "localhost:80" }),
    });
    return testApp;
  }

  /** `Authorization: Bearer <token>`. */
  bearer(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }

  /** An `Authorization: Nostr …` value for `method` on `path` (or a full URL) with `body`. */
  nip98(method: string, path: string, body?: string, overrides: Nip98Overrides = {}): string {
    const url = path.startsWith("http") ? path : `${TEST_ORIGIN}${path}`;
    const tags = overrides.tags ?? [["u", url], ["method", method]];
    if (!overrides.tags && body !== undefined && body !== "") {
      tags.push(["payload", encodeHex(sha256(new TextEncoder().encode(body)))]);
    }
    const event = finalizeEvent({
      kind: overrides.kind ?? 27235,
      created_at: overrides.createdAt ?? Math.floor(this.now() / 1000),
      tags,
      content: "",
    }, overrides.secretKey ?? this.adminSecretKey);
    return `Nostr ${base64.encode(new TextEncoder().encode(JSON.stringify(event)))}`;
  }

  /** Sends a request with the bearer token; `body` is JSON-encoded unless it is a string. */
  request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = this.bearer(),
  ): Promise<Response> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    return Promise.resolve(this.app.request(path, init));
  }

  /** Like {@link request}, returning the status and the parsed JSON body (null when empty). */
  async json(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Json; headers: Headers }> {
    const res = await this.request(method, path, body, headers);
    const text = await res.text();
    return {
      status: res.status,
      body: text === "" ? null : JSON.parse(text),
      headers: res.headers,
    };
  }

  /** Every command sent on the channel since the last call, in order. */
  async takeCommands(): Promise<AuthorizationCommand[]> {
    const out: AuthorizationCommand[] = [];
    while (this.#subscription.pending > 0 && out.length < 10_000) {
      const command = await this.#subscription.next();
      if (command) out.push(command);
    }
    return out;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#subscription[Symbol.dispose]();
    this.channel.close();
    await Promise.resolve();
  }
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

/**
 * `db` with every committed insert/update/delete recorded as `db:<verb> <into|from> <table>`:
 * a statement on its own when it completes, those of a transaction when it commits.
 */
function journaledDb(db: Db, journal: string[]): Db {
  return {
    ...db,
    kysely: db.kysely.withPlugin(new WriteRecorder(journal)),
    async transaction(fn) {
      const entries: string[] = [];
      const result = await db.transaction((tx) => fn(tx.withPlugin(new WriteRecorder(entries))));
      journal.push(...entries);
      return result;
    },
  };
}

/** A kysely plugin that records each write statement once it has run. */
class WriteRecorder implements KyselyPlugin {
  readonly #labels = new Map<unknown, string>();

  constructor(private readonly entries: string[]) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    const { node } = args;
    const label = InsertQueryNode.is(node)
      ? `insert into ${tableOf(node.into)}`
      : UpdateQueryNode.is(node)
      ? `update ${tableOf(node.table)}`
      : DeleteQueryNode.is(node)
      ? `delete from ${tableOf(node.from.froms[0])}`
      : undefined;
    if (label) this.#labels.set(args.queryId, label);
    return node;
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const label = this.#labels.get(args.queryId);
    this.#labels.delete(args.queryId);
    if (label) this.entries.push(`db:${label}`);
    return Promise.resolve(args.result);
  }
}

function tableOf(node: OperationNode | undefined): string {
  if (node && TableNode.is(node)) return node.table.identifier.name;
  return "?";
}
