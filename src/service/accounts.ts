/**
 * People's accounts: registration, login, sessions, password changes. Passwords are hashed by
 * `src/accounts/password.ts` (rationed, off the event loop) and never stored, logged or echoed;
 * a session is a random id the browser keeps in a cookie while the database keeps its sha256, and
 * an account keeps at most {@link MAX_SESSIONS_PER_ACCOUNT} of them.
 *
 * Login is built so its answers tell nothing an attacker could use: an unknown name costs the same
 * hash as a known one and gets the same 401; throttled attempts (see `LoginThrottle`) are refused
 * with 429 before any hashing, and so is every hash past the address's budget, right password or
 * not; a disabled account is named as such only to someone who gave its correct password.
 */
import { getPublicKey } from "nostr-tools/pure";
import { PasswordBusyError } from "../accounts/password.ts";
import { MAX_STORED_PASSWORD_LENGTH, passwordProblem } from "../accounts/password_rules.ts";
import type { Refusal } from "../accounts/throttle.ts";
import { randomToken, tokenHash } from "../accounts/tokens.ts";
import { UniqueViolationError } from "../db/db.ts";
import type { AccountRecord, Role } from "../db/repos/accounts.ts";
import type { KeyRecord } from "../db/repos/keys.ts";
import type { LiveSession, SessionRecord } from "../db/repos/sessions.ts";
import type { AccountDeps, ServiceDeps } from "./deps.ts";
import {
  conflict,
  forbidden,
  invalid,
  rateLimited,
  ServiceError,
  unauthorized,
  unavailable,
} from "./errors.ts";
import { readSecretKey } from "./keys.ts";

/** The name a person's first key gets. */
export const FIRST_KEY_NAME = "main";
/** Most sessions one account keeps: starting one more ends the least recently used. */
export const MAX_SESSIONS_PER_ACCOUNT = 20;
const FAILED_LOGINS = "Too many failed logins: wait before trying again";
/** A session is touched (its idle timer reset) at most this often, in ms. */
const TOUCH_INTERVAL_MS = 60_000;
/** Usernames nobody may register: they would pass for the server speaking. */
const RESERVED_USERNAMES = new Set(["admin", "administrator", "root", "keycast", "operator"]);

/** Who is at the other end of a request, for throttling and the account's history. */
export interface ClientInfo {
  /** The client's address as the server sees it. */
  ip: string;
  /** Its `User-Agent`, cut short; display only. */
  userAgent: string | null;
}

/** A new session: the cookie value (show it only to its browser) and when it ends at the latest. */
export interface NewSession {
  token: string;
  expiresAt: Date;
}

/** What registering takes. */
export interface RegisterInput {
  username: string;
  email?: string | null;
  password: string;
  /** An invite code; required when registration is by invite. */
  invite?: string | null;
  /** A key to bring (nsec, hex or ncryptsec); a fresh one is generated when absent. */
  secret?: string | null;
  /** The ncryptsec's password. */
  secretPassword?: string | null;
}

/** The account services' own dependencies, or an `unavailable` error. */
export function accountDeps(deps: ServiceDeps): AccountDeps {
  if (!deps.accounts) throw unavailable("Accounts are not available on this server");
  return deps.accounts;
}

/** Registers a person (see {@link RegisterInput}), stores their first key, and logs them in. */
export async function register(
  deps: ServiceDeps,
  input: RegisterInput,
  client: ClientInfo,
): Promise<{ account: AccountRecord; key: KeyRecord; session: NewSession }> {
  const accounts = accountDeps(deps);
  const mode = accounts.settings.registration;
  if (mode === "closed") {
    throw forbidden("Registration is closed on this server: ask its operator for an account");
  }
  const invite = input.invite?.trim() || null;
  if (mode === "invite" && !invite) {
    throw invalid("invite", "an invite code is required to register on this server");
  }
  const username = checkUsername(input.username);
  const email = checkEmail(input.email);
  const problem = passwordProblem(input.password, username);
  if (problem) throw invalid("password", problem);
  const inviteHash = invite === null ? undefined : tokenHash(invite);
  if (inviteHash !== undefined && !(await deps.repos.invites.isUsable(inviteHash))) {
    throw invalid("invite", "this invite code is unknown, used or expired");
  }
  // Counted once the cheap checks passed, just before the costly work (a key, a hash).
  const tooMany = "Too many registrations from your address: wait and retry";
  throttled(accounts.throttle.beginRegistration(client.ip, deps.now()), tooMany);
  throttled(await accounts.sharedThrottle?.beginRegistration(client.ip), tooMany);

  const sealed = input.secret?.trim()
    ? await sealBrought(deps, input.secret, input.secretPassword ?? undefined)
    : await accounts.keyWorker.generateKey();
  const passwordHash = await hashPassword(accounts, input.password);
  const keyId = crypto.randomUUID();
  let registered;
  try {
    registered = await deps.repos.accounts.register(
      { id: crypto.randomUUID(), username, email, passwordHash, role: "user" },
      {
        key: {
          id: keyId,
          name: FIRST_KEY_NAME,
          pubkey: sealed.pubkey,
          secretSealed: sealed.sealed,
        },
        inviteHash,
      },
    );
  } catch (error) {
    throw takenError(error);
  }
  if (registered.status === "bad-invite") {
    throw invalid("invite", "this invite code is unknown, used or expired");
  }
  const { account } = registered;
  const key = await deps.repos.keys.getByPubkey(sealed.pubkey);
  if (!key) throw new Error(`Key of new account ${account.id} vanished right after it was stored`);
  await deps.repos.accountEvents.add({
    accountId: account.id,
    action: "register",
    detail: input.secret?.trim() ? "brought a key" : "new key",
    ip: client.ip,
  });
  deps.log({
    level: "info",
    ns: "service.accounts",
    msg: "Account registered",
    accountId: account.id,
    username,
    userPubkey: key.pubkey,
    invited: inviteHash !== undefined,
  });
  return { account, key, session: await startSession(deps, account.id, client) };
}

/** Logs in with a username (or email) and password; 401 for any bad credential. */
export async function login(
  deps: ServiceDeps,
  input: { login: string; password: string },
  client: ClientInfo,
): Promise<{ account: AccountRecord; session: NewSession }> {
  const accounts = accountDeps(deps);
  const name = input.login.trim().toLowerCase().slice(0, 254);
  const password = input.password;
  // No stored hash is of a longer password: wrong, and not worth a hash (nor a count).
  if (password.length > MAX_STORED_PASSWORD_LENGTH) {
    throw unauthorized("Wrong username or password", "password");
  }
  // Refused before the lookup when the name or address is already waiting.
  const waitMs = accounts.throttle.waitMs(name, client.ip, deps.now());
  if (waitMs > 0) throw rateLimited(FAILED_LOGINS, waitMs);
  const account = name === "" ? undefined : await deps.repos.accounts.getByLogin(name);
  // Found by email, the account is counted under its username too, so both ways of naming it
  // share one budget; an unknown name is counted under the name typed.
  const names = account && account.username !== name ? [name, account.username] : [name];
  // Charged with no await before the hashing, so parallel guesses all see each other's count.
  throttled(accounts.throttle.begin(names, client.ip, deps.now()), FAILED_LOGINS);
  // Then across instances (one atomic count in the database, before the hashing too).
  throttled(await accounts.sharedThrottle?.begin(names, client.ip), FAILED_LOGINS);
  const verified = account
    ? await verifyPassword(accounts, password, account.passwordHash)
    : { ok: await verifyNobody(accounts, password), needsRehash: false };
  if (!account || !verified.ok) {
    if (account) {
      await deps.repos.accountEvents.add({
        accountId: account.id,
        action: "login_failed",
        ip: client.ip,
      });
    }
    throw unauthorized("Wrong username or password", "password");
  }
  accounts.throttle.succeeded(names, client.ip);
  await accounts.sharedThrottle?.succeeded(names, client.ip);
  if (account.disabledAt !== null) {
    throw forbidden("This account is disabled: ask the server's operator");
  }
  if (verified.needsRehash) {
    await deps.repos.accounts.setPasswordHash(account.id, await hashPassword(accounts, password));
  }
  await deps.repos.accountEvents.add({ accountId: account.id, action: "login", ip: client.ip });
  return { account, session: await startSession(deps, account.id, client) };
}

/** Ends the session whose cookie value is `token` (nothing happens for an unknown one). */
export async function logout(deps: ServiceDeps, token: string): Promise<void> {
  const live = await authenticate(deps, token);
  await deps.repos.sessions.delete(tokenHash(token));
  if (live) {
    await deps.repos.accountEvents.add({ accountId: live.account.id, action: "logout" });
  }
}

/**
 * The live session whose cookie value is `token`, with its account; `undefined` when it does not
 * exist, ended, or its account is disabled. Use marks it active (at most once a minute).
 */
export async function authenticate(
  deps: ServiceDeps,
  token: string,
): Promise<LiveSession | undefined> {
  const accounts = accountDeps(deps);
  const idHash = tokenHash(token);
  const live = await deps.repos.sessions.getLive(idHash, accounts.settings.sessionIdleMs);
  if (live && deps.now() - live.session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) {
    await deps.repos.sessions.touch(idHash);
  }
  return live;
}

/**
 * Changes a password after checking the current one; every other session of the account ends
 * (the one making the change, `keepToken`, stays).
 */
export async function changePassword(
  deps: ServiceDeps,
  accountId: string,
  input: { current: string; next: string },
  keepToken: string | undefined,
  client: ClientInfo,
): Promise<{ endedSessions: number }> {
  const accounts = accountDeps(deps);
  const account = await deps.repos.accounts.get(accountId);
  if (!account) throw unauthorized("Your session ended: log in again");
  await checkCurrentPassword(deps, account, input.current, client);
  const problem = passwordProblem(input.next, account.username);
  if (problem) throw invalid("new_password", problem);
  await deps.repos.accounts.setPasswordHash(account.id, await hashPassword(accounts, input.next));
  const ended = await deps.repos.sessions.deleteAllOf(
    account.id,
    keepToken === undefined ? undefined : tokenHash(keepToken),
  );
  await deps.repos.accountEvents.add({
    accountId: account.id,
    action: "password_changed",
    detail: `${ended} other sessions ended`,
    ip: client.ip,
  });
  return { endedSessions: ended };
}

/**
 * Checks `password` against the account's, for actions that ask for it again (export, password
 * change); throttled like a login, and a failure is a 401 on `current_password`.
 */
export async function checkCurrentPassword(
  deps: ServiceDeps,
  account: AccountRecord,
  password: string,
  client: ClientInfo,
): Promise<void> {
  const accounts = accountDeps(deps);
  const wrong = () => unauthorized("Your current password is not right", "current_password");
  if (password.length > MAX_STORED_PASSWORD_LENGTH) throw wrong();
  const names = [account.username];
  const tooMany = "Too many wrong passwords: wait before trying again";
  throttled(accounts.throttle.begin(names, client.ip, deps.now()), tooMany);
  throttled(await accounts.sharedThrottle?.begin(names, client.ip), tooMany);
  const verified = await verifyPassword(accounts, password, account.passwordHash);
  if (!verified.ok) throw wrong();
  accounts.throttle.succeeded(names, client.ip);
  await accounts.sharedThrottle?.succeeded(names, client.ip);
}

/** The sessions of an account, most recently used first. */
export function listSessions(deps: ServiceDeps, accountId: string): Promise<SessionRecord[]> {
  return deps.repos.sessions.listByAccount(accountId);
}

/** Ends every session of an account but `keepToken`'s; returns how many ended. */
export async function endOtherSessions(
  deps: ServiceDeps,
  accountId: string,
  keepToken: string,
): Promise<number> {
  const ended = await deps.repos.sessions.deleteAllOf(accountId, tokenHash(keepToken));
  await deps.repos.accountEvents.add({
    accountId,
    action: "sessions_ended",
    detail: `${ended} other sessions ended`,
  });
  return ended;
}

/** Starts a session for `accountId`. */
export async function startSession(
  deps: ServiceDeps,
  accountId: string,
  client: ClientInfo,
): Promise<NewSession> {
  const accounts = accountDeps(deps);
  const token = randomToken();
  const expiresAt = new Date(deps.now() + accounts.settings.sessionMaxMs);
  const idHash = tokenHash(token);
  await deps.repos.sessions.create({
    idHash,
    accountId,
    expiresAt,
    userAgent: client.userAgent?.slice(0, 200) ?? null,
  });
  await deps.repos.sessions.keepNewest(accountId, MAX_SESSIONS_PER_ACCOUNT, idHash);
  return { token, expiresAt };
}

/** A username as stored (lowercase), or an `invalid` error on `username`. */
export function checkUsername(input: string, opts: { reserved?: boolean } = {}): string {
  const username = input.trim().toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]{2,31}$/.test(username)) {
    throw invalid(
      "username",
      "use 3 to 32 characters: letters, digits, dot, dash or underscore, starting with a letter or digit",
    );
  }
  if (opts.reserved !== false && RESERVED_USERNAMES.has(username)) {
    throw invalid("username", "this name is reserved: choose another");
  }
  return username;
}

/** An email as stored (lowercase), null when none was given, or an `invalid` error on `email`. */
export function checkEmail(input: string | null | undefined): string | null {
  const email = input?.trim().toLowerCase() ?? "";
  if (email === "") return null;
  if (email.length > 254 || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
    throw invalid("email", "this does not look like an email address");
  }
  return email;
}

/** The role an admin gives, checked. */
export function checkRole(input: string): Role {
  if (input !== "user" && input !== "admin") throw invalid("role", 'use "user" or "admin"');
  return input;
}

/** Hashes `password`; a full hashing queue is a 429. */
export async function hashPassword(accounts: AccountDeps, password: string): Promise<string> {
  try {
    return await accounts.passwords.hash(password);
  } catch (error) {
    throw busyError(error);
  }
}

async function verifyPassword(accounts: AccountDeps, password: string, stored: string) {
  try {
    return await accounts.passwords.verify(password, stored);
  } catch (error) {
    throw busyError(error);
  }
}

async function verifyNobody(accounts: AccountDeps, password: string): Promise<false> {
  try {
    return await accounts.passwords.verifyNobody(password);
  } catch (error) {
    throw busyError(error);
  }
}

/** Throws the 429 for `refusal`: `failures` is the message for too many failures. */
function throttled(refusal: Refusal | undefined, failures: string): void {
  if (!refusal) return;
  const message = refusal.reason === "hashing"
    ? "Too many password checks from your address: wait and retry"
    : failures;
  throw rateLimited(message, refusal.waitMs);
}

function busyError(error: unknown): unknown {
  if (error instanceof PasswordBusyError) {
    return rateLimited("The server is busy checking passwords: retry in a few seconds", 3_000);
  }
  return error;
}

/** Seals a key a person brings; the secret is zeroed once sealed. */
async function sealBrought(
  deps: ServiceDeps,
  secret: string,
  password: string | undefined,
): Promise<{ pubkey: string; sealed: string }> {
  let secretKey: Uint8Array;
  try {
    secretKey = await readSecretKey(secret, password);
  } catch (error: unknown) {
    // Here "password" would name the account's password; the key's own is "nsec_password".
    if (error instanceof ServiceError && error.field === "password") {
      throw invalid("nsec_password", error.message.replace(/^password: /, ""));
    }
    throw error;
  }
  try {
    const pubkey = getPublicKey(secretKey);
    return { pubkey, sealed: await deps.vault.seal(secretKey, pubkey) };
  } finally {
    secretKey.fill(0);
  }
}

/** The service error for a unique violation while registering. */
function takenError(error: unknown): unknown {
  if (!(error instanceof UniqueViolationError)) return error;
  if (error.constraint?.includes("pubkey")) {
    return conflict("This key is already stored on this server", "secret");
  }
  // One answer for a taken username and a taken email: an invite must not test emails.
  return conflict("This username or email cannot be used: choose another", "username");
}
