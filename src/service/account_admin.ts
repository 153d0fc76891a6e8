/**
 * What admins do with accounts: create them (the first admin among them), list, disable and
 * enable, reset a password, and hand out invites. A disabled account cannot log in, its sessions
 * end, and its keys stop answering at once (the listener gets each of its authorizations as
 * removed; enabling sends them back).
 */
import { passwordProblem } from "../accounts/password_rules.ts";
import { randomToken, tokenHash } from "../accounts/tokens.ts";
import { UniqueViolationError } from "../db/db.ts";
import type { AccountRecord, ListedAccount, Role } from "../db/repos/accounts.ts";
import type { InviteRecord } from "../db/repos/invites.ts";
import {
  accountDeps,
  checkEmail,
  checkUsername,
  FIRST_KEY_NAME,
  hashPassword,
} from "./accounts.ts";
import type { ServiceDeps } from "./deps.ts";
import { conflict, invalid, notFound, quote } from "./errors.ts";

/** Longest an invite may stay open, in seconds (90 days). */
export const MAX_INVITE_SECONDS = 90 * 86_400;
/** How long an invite stays open by default, in seconds (7 days). */
export const DEFAULT_INVITE_SECONDS = 7 * 86_400;

/** Creates an account with a fresh key (no invite needed: an admin or the operator asks). */
export async function createAccount(
  deps: ServiceDeps,
  input: { username: string; email?: string | null; password: string; role: Role },
): Promise<AccountRecord> {
  const accounts = accountDeps(deps);
  // The operator may take a reserved name (like "admin") for their own account.
  const username = checkUsername(input.username, { reserved: false });
  const email = checkEmail(input.email);
  const problem = passwordProblem(input.password, username);
  if (problem) throw invalid("password", problem);
  const sealed = await accounts.keyWorker.generateKey();
  const passwordHash = await hashPassword(accounts, input.password);
  let registered;
  try {
    registered = await deps.repos.accounts.register(
      { id: crypto.randomUUID(), username, email, passwordHash, role: input.role },
      {
        key: {
          id: crypto.randomUUID(),
          name: FIRST_KEY_NAME,
          pubkey: sealed.pubkey,
          secretSealed: sealed.sealed,
        },
      },
    );
  } catch (error) {
    if (error instanceof UniqueViolationError) {
      if (error.constraint?.includes("email")) {
        throw conflict("This email is already registered", "email");
      }
      throw conflict(`Cannot create account: the username ${quote(username)} is taken`, "username");
    }
    throw error;
  }
  if (registered.status !== "registered") throw new Error("Registration without invite failed");
  await deps.repos.accountEvents.add({
    accountId: registered.account.id,
    action: "created_by_admin",
    detail: `role ${input.role}`,
  });
  deps.log({
    level: "info",
    ns: "service.accounts",
    msg: "Account created by an admin",
    accountId: registered.account.id,
    username,
    role: input.role,
  });
  return registered.account;
}

/** Every account with its number of keys. */
export function listAccounts(deps: ServiceDeps): Promise<ListedAccount[]> {
  return deps.repos.accounts.list();
}

/** The account with id or username `ref`, or a 404 naming it. */
export async function findAccount(deps: ServiceDeps, ref: string): Promise<AccountRecord> {
  const trimmed = ref.trim();
  const account = /^[0-9a-f-]{36}$/.test(trimmed)
    ? await deps.repos.accounts.get(trimmed)
    : await deps.repos.accounts.getByLogin(trimmed);
  if (!account) throw notFound(`No account ${quote(trimmed)}`, "account");
  return account;
}

/**
 * Disables or enables the account `ref`: sessions end (on disable), and the listener hears about
 * each of its authorizations at once. Returns the account after the change.
 */
export async function setAccountDisabled(
  deps: ServiceDeps,
  ref: string,
  disabled: boolean,
): Promise<AccountRecord> {
  const found = await findAccount(deps, ref);
  const account = await deps.repos.accounts.setDisabled(found.id, disabled);
  if (!account) throw notFound(`No account ${quote(ref)}`, "account");
  const ended = disabled ? await deps.repos.sessions.deleteAllOf(account.id) : 0;
  const sent = await deps.changes.accountChanged(account.id);
  await deps.repos.accountEvents.add({
    accountId: account.id,
    action: disabled ? "disabled" : "enabled",
  });
  deps.log({
    level: "info",
    ns: "service.accounts",
    msg: disabled ? "Account disabled" : "Account enabled",
    accountId: account.id,
    endedSessions: ended,
    authorizationsSent: sent,
  });
  return account;
}

/** Sets a new password for the account `ref` and ends all its sessions. */
export async function resetPassword(
  deps: ServiceDeps,
  ref: string,
  password: string,
): Promise<{ endedSessions: number }> {
  const accounts = accountDeps(deps);
  const account = await findAccount(deps, ref);
  const problem = passwordProblem(password, account.username);
  if (problem) throw invalid("password", problem);
  await deps.repos.accounts.setPasswordHash(account.id, await hashPassword(accounts, password));
  const ended = await deps.repos.sessions.deleteAllOf(account.id);
  await deps.repos.accountEvents.add({ accountId: account.id, action: "password_reset" });
  deps.log({
    level: "info",
    ns: "service.accounts",
    msg: "Password reset by an admin",
    accountId: account.id,
    endedSessions: ended,
  });
  return { endedSessions: ended };
}

/** A new invite and its code (shown once: only its sha256 is stored). */
export async function createInvite(
  deps: ServiceDeps,
  input: { role: Role; expiresIn: number | null; createdBy: string | null },
): Promise<{ code: string; invite: InviteRecord }> {
  const seconds = input.expiresIn ?? DEFAULT_INVITE_SECONDS;
  if (!Number.isSafeInteger(seconds) || seconds < 60 || seconds > MAX_INVITE_SECONDS) {
    throw invalid("expires_in", `use 60 seconds to ${MAX_INVITE_SECONDS / 86_400} days`);
  }
  const code = randomToken(16);
  const invite = await deps.repos.invites.create({
    id: crypto.randomUUID(),
    codeHash: tokenHash(code),
    role: input.role,
    createdBy: input.createdBy,
    expiresAt: new Date(deps.now() + seconds * 1000),
  });
  deps.log({
    level: "info",
    ns: "service.accounts",
    msg: "Invite created",
    inviteId: invite.id,
    role: input.role,
  });
  return { code, invite };
}

/** Every invite, newest first. */
export function listInvites(deps: ServiceDeps): Promise<InviteRecord[]> {
  return deps.repos.invites.list();
}

/** Deletes an unused invite. */
export async function deleteInvite(deps: ServiceDeps, id: string): Promise<void> {
  if (!(await deps.repos.invites.deleteUnused(id))) {
    throw notFound(`No unused invite with id ${quote(id)}`, "id");
  }
}
