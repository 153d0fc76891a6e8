/**
 * What a person does with their own keys and apps. Every function takes the account id of the
 * person asking and reaches only that account's keys, their authorizations ("apps") and those
 * authorizations' audit rows: anything else answers 404, exactly as if it did not exist.
 */
import type { AuditRecord } from "../db/repos/audit.ts";
import type { AuthorizationRecord } from "../db/repos/authorizations.ts";
import type { ClientRecord } from "../db/repos/clients.ts";
import type { KeyRecord } from "../db/repos/keys.ts";
import { isValidName, labelProblem } from "../domain/fields.ts";
import { NostrConnectError, parseNostrConnectUri } from "../nip46/nostrconnect.ts";
import { pubkeyToHex } from "../nostr/pubkey.ts";
import { isPrivateRelayHost, parseRelayUrl, RelayUrlError } from "../nostr/relay_url.ts";
import { accountDeps, checkCurrentPassword, type ClientInfo } from "./accounts.ts";
import {
  createAuthorization,
  type CreatedAuthorization,
  revokeAuthorization,
} from "./authorizations.ts";
import type { ServiceDeps } from "./deps.ts";
import { invalid, notFound, rateLimited } from "./errors.ts";
import { importKey, storeSealedKey } from "./keys.ts";
import { type Paired, pairNostrConnect } from "./pairing.ts";

/** Most keys one person may hold. */
export const MAX_KEYS_PER_ACCOUNT = 20;
/** Most export attempts per account per hour (a wrong password counts too). */
export const MAX_EXPORTS_PER_HOUR = 3;
/** Most apps (authorizations not revoked) one person may have. */
export const MAX_APPS_PER_ACCOUNT = 50;
/** scrypt cost of exported ncryptsec (NIP-49's suggested minimum, 64 MiB). */
const EXPORT_LOG_N = 16;

/** One connected app: the authorization, its clients and how much it was used. */
export interface OwnApp {
  record: AuthorizationRecord;
  clients: ClientRecord[];
  requests: number;
  lastActivityAt: Date | null;
}

/** The person's keys, oldest first. */
export function ownKeys(deps: ServiceDeps, accountId: string): Promise<KeyRecord[]> {
  return deps.repos.keys.list(accountId);
}

/** Adds a key: generated in a signer worker, or brought (nsec, hex, ncryptsec with its password). */
export async function addOwnKey(
  deps: ServiceDeps,
  accountId: string,
  input: { name: string; secret?: string | null; secretPassword?: string | null },
): Promise<KeyRecord> {
  const accounts = accountDeps(deps);
  const name = input.name.trim();
  if (!isValidName(name)) {
    throw invalid("name", "use 1 to 64 letters, digits, dot, dash or underscore");
  }
  const tooMany = () => invalid("name", `an account holds at most ${MAX_KEYS_PER_ACCOUNT} keys`);
  if (await deps.repos.keys.countOf(accountId) >= MAX_KEYS_PER_ACCOUNT) throw tooMany();
  const key = input.secret?.trim()
    ? await importKey(deps, {
      name,
      secret: input.secret,
      password: input.secretPassword ?? undefined,
      owner: accountId,
    })
    : await storeSealedKey(deps, name, await accounts.keyWorker.generateKey(), accountId);
  // Counted again once stored: keys added at the same moment all passed the first check.
  if (await deps.repos.keys.countOf(accountId) > MAX_KEYS_PER_ACCOUNT) {
    await deps.repos.keys.delete(key.id);
    throw tooMany();
  }
  await deps.repos.accountEvents.add({ accountId, action: "key_added", detail: key.pubkey });
  return key;
}

/** The person's key `ref` (pubkey, npub or name), or a 404. */
export async function ownKey(
  deps: ServiceDeps,
  accountId: string,
  ref: string,
): Promise<KeyRecord> {
  const hex = pubkeyToHex(ref.trim());
  const key = hex === undefined
    ? (isValidName(ref.trim()) ? await deps.repos.keys.getByName(ref.trim(), accountId) : undefined)
    : await deps.repos.keys.getByPubkey(hex);
  if (!key || key.accountId !== accountId) throw notFound("No such key in your account", "key");
  return key;
}

/**
 * Exports the person's key `keyRef` as NIP-49 ncryptsec, after their account password is given
 * again; encrypted with `exportPassword`, or with the account password when none is given. At most
 * {@link MAX_EXPORTS_PER_HOUR} an hour; each export is recorded in the account's history.
 */
export async function exportOwnKey(
  deps: ServiceDeps,
  accountId: string,
  input: { key: string; password: string; exportPassword?: string | null },
  client: ClientInfo,
): Promise<{ key: KeyRecord; ncryptsec: string }> {
  const accounts = accountDeps(deps);
  const account = await deps.repos.accounts.get(accountId);
  if (!account) throw notFound("No such account");
  const key = await ownKey(deps, accountId, input.key);
  // The attempt is recorded before it is counted, so attempts made at once all see each other.
  await deps.repos.accountEvents.add({
    accountId,
    action: "key_export_attempt",
    detail: key.pubkey,
    ip: client.ip,
  });
  const recent = await deps.repos.accountEvents.countSince(
    accountId,
    "key_export_attempt",
    deps.now() - 3_600_000,
  );
  if (recent > MAX_EXPORTS_PER_HOUR) {
    throw rateLimited(
      `At most ${MAX_EXPORTS_PER_HOUR} exports an hour: try again later`,
      3_600_000,
    );
  }
  await checkCurrentPassword(deps, account, input.password, client);
  const exportPassword = input.exportPassword || input.password;
  if (exportPassword.length < 8 || exportPassword.length > 1_024) {
    throw invalid("export_password", "use 8 to 1024 characters");
  }
  const ncryptsec = await accounts.keyWorker.exportKey({
    key: { pubkey: key.pubkey, sealed: key.secretSealed },
    password: exportPassword,
    logN: EXPORT_LOG_N,
  });
  await deps.repos.accountEvents.add({
    accountId,
    action: "key_exported",
    detail: key.pubkey,
    ip: client.ip,
  });
  deps.log({
    level: "info",
    ns: "service.own",
    msg: "Key exported as ncryptsec",
    accountId,
    userPubkey: key.pubkey,
  });
  return { key, ncryptsec };
}

/** The person's apps (authorizations of their keys), newest first, with use counts. */
export async function ownApps(
  deps: ServiceDeps,
  accountId: string,
  opts: { includeRevoked?: boolean } = {},
): Promise<OwnApp[]> {
  const records = await deps.repos.authorizations.list({
    accountId,
    includeRevoked: opts.includeRevoked,
  });
  const activity = await deps.repos.audit.activity(records.map((record) => record.id));
  const apps: OwnApp[] = [];
  for (const record of records) {
    const used = activity.get(record.id);
    apps.push({
      record,
      clients: await deps.repos.clients.list(record.id),
      requests: used?.requests ?? 0,
      lastActivityAt: used?.lastAt ?? null,
    });
  }
  return apps;
}

/** The person's app with id or bunker pubkey `ref`, or a 404. */
export async function ownApp(
  deps: ServiceDeps,
  accountId: string,
  ref: string,
): Promise<AuthorizationRecord> {
  const trimmed = ref.trim().toLowerCase();
  const record = /^[0-9a-f]{64}$/.test(trimmed)
    ? await deps.repos.authorizations.getByBunkerPubkey(trimmed)
    : /^[0-9a-f-]{36}$/.test(trimmed)
    ? await deps.repos.authorizations.get(trimmed)
    : undefined;
  if (!record || record.accountId !== accountId) throw notFound("No such app in your account");
  return record;
}

/** Connects an app through a new `bunker://` URL for one of the person's keys. */
export async function createOwnBunker(
  deps: ServiceDeps,
  accountId: string,
  input: {
    appName: string;
    key?: string | null;
    policy?: string | null;
    relays?: readonly string[];
    expiresIn?: number | null;
  },
): Promise<CreatedAuthorization> {
  checkAppName("app_name", input.appName);
  const relays = input.relays ?? [];
  const allowed = new Set(deps.defaultRelays.map((relay) => parseRelayUrl(relay)));
  for (const [i, relay] of relays.entries()) {
    if (!allowed.has(relayOf(relay, `relays[${i}]`))) {
      throw invalid(
        `relays[${i}]`,
        `choose among this server's relays: ${[...allowed].join(", ")}`,
      );
    }
  }
  await checkAppRoom(deps, accountId);
  const key = await defaultKey(deps, accountId, input.key);
  const created = await createAuthorization(deps, {
    key: key.pubkey,
    owner: accountId,
    relays,
    policy: input.policy ?? null,
    maxUses: 1,
    expiresIn: input.expiresIn ?? null,
    label: input.appName,
  });
  await deps.repos.accountEvents.add({
    accountId,
    action: "app_connected",
    detail: `${input.appName} (${created.record.bunkerPubkey})`,
  });
  return created;
}

/** Approves a `nostrconnect://` pairing for one of the person's keys. */
export async function connectOwnApp(
  deps: ServiceDeps,
  accountId: string,
  input: { uri: string; key?: string | null; policy?: string | null; label?: string | null },
): Promise<Paired> {
  if (input.label) checkAppName("label", input.label);
  checkPairingRelays(deps, input.uri);
  await checkAppRoom(deps, accountId);
  const key = await defaultKey(deps, accountId, input.key);
  const paired = await pairNostrConnect(deps, {
    uri: input.uri,
    key: key.pubkey,
    owner: accountId,
    policy: input.policy ?? null,
    label: input.label ?? null,
    expiresIn: null,
  });
  await deps.repos.accountEvents.add({
    accountId,
    action: "app_connected",
    detail: `${paired.record.label ?? "nostrconnect"} (${paired.record.bunkerPubkey})`,
  });
  return paired;
}

/** Revokes the person's app `ref` (id or bunker pubkey); the listener refuses it at once. */
export async function revokeOwnApp(
  deps: ServiceDeps,
  accountId: string,
  ref: string,
): Promise<AuthorizationRecord> {
  const record = await ownApp(deps, accountId, ref);
  await revokeAuthorization(deps, record.id);
  await deps.repos.accountEvents.add({
    accountId,
    action: "app_revoked",
    detail: `${record.label ?? "app"} (${record.bunkerPubkey})`,
  });
  return record;
}

/** The latest audit rows of the person's app `ref`, newest first. */
export async function ownAppActivity(
  deps: ServiceDeps,
  accountId: string,
  ref: string,
  limit = 100,
): Promise<AuditRecord[]> {
  const record = await ownApp(deps, accountId, ref);
  return await deps.repos.audit.latest({ authorizationId: record.id, limit });
}

/** The latest audit rows of all the person's apps, newest first. */
export function ownActivity(
  deps: ServiceDeps,
  accountId: string,
  limit = 20,
): Promise<AuditRecord[]> {
  return deps.repos.audit.latest({ accountId, limit });
}

function checkAppName(field: string, name: string): void {
  const problem = labelProblem(name);
  if (problem) throw invalid(field, problem.replace(/^it /, ""));
}

function relayOf(relay: string, field: string): string {
  try {
    return parseRelayUrl(relay);
  } catch (error: unknown) {
    if (error instanceof RelayUrlError) throw invalid(field, error.problem);
    throw error;
  }
}

/**
 * An app a person pairs with names the relays keycast will connect to: besides the operator's own,
 * only public hosts, so an account cannot point the server at its machine or private network.
 */
function checkPairingRelays(deps: ServiceDeps, uri: string): void {
  let relays: string[];
  try {
    relays = parseNostrConnectUri(uri).relays;
  } catch (error: unknown) {
    if (error instanceof NostrConnectError) throw invalid("uri", error.message);
    throw error;
  }
  const operators = new Set(deps.defaultRelays.map((relay) => parseRelayUrl(relay)));
  const inside = relays.find((relay) => !operators.has(relay) && isPrivateRelayHost(relay));
  if (inside !== undefined) {
    throw invalid(
      "uri",
      `the app's relay ${inside} is on a private network or this machine; ` +
        "only public relays and this server's own can be used",
    );
  }
}

/** Refuses a new app when the person has {@link MAX_APPS_PER_ACCOUNT} already. */
export async function checkAppRoom(deps: ServiceDeps, accountId: string): Promise<void> {
  const live = await deps.repos.authorizations.unrevokedOfAccount(accountId);
  if (live.length >= MAX_APPS_PER_ACCOUNT) {
    throw invalid(
      "app_name",
      `an account has at most ${MAX_APPS_PER_ACCOUNT} connected apps: revoke one first`,
    );
  }
}

/** The key `ref` of the person, or their first key when `ref` is empty. */
async function defaultKey(
  deps: ServiceDeps,
  accountId: string,
  ref: string | null | undefined,
): Promise<KeyRecord> {
  if (ref?.trim()) return await ownKey(deps, accountId, ref);
  const [first] = await deps.repos.keys.list(accountId);
  if (!first) throw invalid("key", "your account holds no key yet: add one first");
  return first;
}
