/**
 * `keycast accounts create|list|disable|enable|reset-password|invite`: the people with accounts,
 * over `/api/accounts` and `/api/invites`. Passwords never travel through argv (it shows in `ps`
 * and shell history): in a terminal they are typed twice without echo, otherwise they are the
 * first line of standard input. An invite's code is printed by `invite` and nowhere else (the
 * server keeps only its hash).
 */
import type { AccountRole, AccountView } from "../client.ts";
import { EXIT } from "../io.ts";
import { readNewPassword } from "./account_password.ts";
import {
  type Call,
  defineCommand,
  JSON_FLAG,
  onePositional,
  onlyFlags,
  printJson,
  Problems,
  stringFlag,
  UsageError,
} from "./common.ts";
import { cleanCell, formatTable, shortTime } from "./table.ts";
import { checkAccountRef, checkEmail, checkUsername, parseDuration } from "./validate.ts";

/** Shortest time an invite may stay open, in seconds (as the server allows). */
export const MIN_INVITE_SECONDS = 60;
/** Longest time an invite may stay open, in seconds: 90 days (as the server allows). */
export const MAX_INVITE_SECONDS = 90 * 86_400;

/** `keycast accounts …`. */
export const accountsCommand = defineCommand({
  name: "accounts",
  summary: "Create, list, disable and enable accounts, reset passwords, invite people",
  usage: "keycast accounts create NAME [--admin] [--email EMAIL] [--json]   (password on stdin)\n" +
    "       keycast accounts list [--json]\n" +
    "       keycast accounts disable NAME\n" +
    "       keycast accounts enable NAME\n" +
    "       keycast accounts reset-password NAME   (password on stdin)\n" +
    "       keycast accounts invite [--admin] [--expires 7d] [--json]   (prints the code, once)",
  notes: "Arguments:\n" +
    "  NAME  A username: 3 to 32 letters, digits, dots, dashes or underscores, starting with a\n" +
    "        letter or digit; disable, enable and reset-password also take an email or id\n\n" +
    "Passwords are never arguments (arguments show in ps and shell history). In a terminal,\n" +
    "create and reset-password ask for the password twice without showing it; otherwise they\n" +
    "read the first line of standard input: keycast accounts create alice < password.txt\n" +
    "A password needs at least 12 characters and must not be a common one.\n\n" +
    "Disabling an account ends its sessions and stops its keys answering at once; enabling it\n" +
    "brings the keys back. The invite code is shown only by invite: give it to the person it is\n" +
    "for, who registers with it.",
  flags: [
    { name: "admin", boolean: true, help: "Make it an admin account, not a user (create, invite)" },
    { name: "email", value: "EMAIL", help: "The account's email address (create). Default: none" },
    {
      name: "expires",
      value: "DURATION",
      help: "How long the invite stays open, 1m to 90d, like 12h or 2w (invite). Default 7d",
    },
    JSON_FLAG,
  ],
  run: async (call) => {
    const [action] = call.positionals;
    const run = action === undefined ? undefined : ACTIONS.get(action);
    if (run) return await run(call);
    throw new UsageError([
      action === undefined
        ? 'Missing action: use "accounts create NAME", "accounts list", "accounts disable NAME", ' +
          '"accounts enable NAME", "accounts reset-password NAME" or "accounts invite"'
        : `Unknown action "accounts ${action}": ` +
          "use create, list, disable, enable, reset-password or invite",
    ]);
  },
});

const ACTIONS = new Map<string, (call: Call) => Promise<number>>([
  ["create", create],
  ["list", list],
  ["disable", (call) => setDisabled(call, true)],
  ["enable", (call) => setDisabled(call, false)],
  ["reset-password", resetPassword],
  ["invite", invite],
]);

function role(call: Call): AccountRole {
  return call.values.has("admin") ? "admin" : "user";
}

/**
 * The one NAME after `action`. More arguments are refused without quoting them: the likeliest one
 * is a password, and the terminal, scrollback and logs should not show it again.
 */
function nameBeforeStdinPassword(call: Call, action: string): string {
  const rest = call.positionals.slice(1);
  if (rest.length > 1) {
    throw new UsageError([
      `"${action}" takes one NAME: the password is read from standard input, never from an ` +
      "argument (arguments show in ps and shell history)",
    ]);
  }
  return onePositional(call, action, "an account NAME");
}

function noPositionals(call: Call): void {
  const extra = call.positionals[1];
  if (extra !== undefined) throw new UsageError([`Unexpected argument "${extra}"`]);
}

async function create(call: Call): Promise<number> {
  onlyFlags(call, "accounts create", ["admin", "email", "json"]);
  const problems = new Problems();
  const username = problems.check(() =>
    checkUsername("NAME", nameBeforeStdinPassword(call, "accounts create"))
  );
  const emailFlag = stringFlag(call.values, "email");
  const email = emailFlag === undefined ? undefined : problems.check(() => checkEmail(emailFlag));
  problems.throwIfAny();
  const password = await readNewPassword(call.ctx, username!, username);
  const account = await (await call.client()).createAccount({
    username: username!,
    ...(email === undefined ? {} : { email }),
    password,
    role: role(call),
  });
  if (call.values.has("json")) printJson(call.ctx, account);
  else call.ctx.io.out(`Created ${account.role} account ${cleanCell(account.username)}\n`);
  return EXIT.ok;
}

async function list(call: Call): Promise<number> {
  onlyFlags(call, "accounts list", ["json"]);
  noPositionals(call);
  const accounts = await (await call.client()).listAccounts();
  if (call.values.has("json")) printJson(call.ctx, accounts);
  else if (accounts.length === 0) {
    call.ctx.io.err("No accounts yet: create one with keycast accounts create NAME\n");
  } else {
    call.ctx.io.out(formatTable(
      ["username", "role", "status", "keys", "email", "created (UTC)"],
      accounts.map(row),
    ));
  }
  return EXIT.ok;
}

function row(account: AccountView): string[] {
  return [
    account.username,
    account.role,
    account.disabled ? "disabled" : "active",
    String(account.key_count),
    account.email ?? "-",
    shortTime(account.created_at),
  ];
}

async function setDisabled(call: Call, disabled: boolean): Promise<number> {
  const action = `accounts ${disabled ? "disable" : "enable"}`;
  onlyFlags(call, action, []);
  const ref = checkAccountRef("NAME", onePositional(call, action, "an account NAME"));
  const result = await (await call.client()).setAccountDisabled(ref, disabled);
  const username = cleanCell(result.username);
  call.ctx.io.out(
    disabled
      ? `Disabled account ${username}: its sessions ended and its keys stopped answering\n`
      : `Enabled account ${username}: its keys answer again\n`,
  );
  return EXIT.ok;
}

async function resetPassword(call: Call): Promise<number> {
  onlyFlags(call, "accounts reset-password", []);
  const ref = checkAccountRef(
    "NAME",
    nameBeforeStdinPassword(call, "accounts reset-password"),
  );
  const client = await call.client();
  // Looked up first, so nobody types a password twice for an account that does not exist.
  const account = await client.getAccount(ref);
  const password = await readNewPassword(call.ctx, cleanCell(account.username), account.username);
  const result = await client.resetPassword(account.id, password);
  const ended = result.ended_sessions;
  call.ctx.io.out(
    `Set a new password for ${cleanCell(account.username)}: ` +
      `${ended} session${ended === 1 ? "" : "s"} ended\n`,
  );
  return EXIT.ok;
}

async function invite(call: Call): Promise<number> {
  onlyFlags(call, "accounts invite", ["admin", "expires", "json"]);
  noPositionals(call);
  const expires = stringFlag(call.values, "expires");
  const input = {
    role: role(call),
    ...(expires === undefined ? {} : { expires_in: parseInviteExpiry(expires) }),
  };
  const created = await (await call.client()).createInvite(input);
  if (call.values.has("json")) {
    printJson(call.ctx, created);
    return EXIT.ok;
  }
  call.ctx.io.out(`${cleanCell(created.code)}\n`);
  call.ctx.io.err(
    `Invite ${cleanCell(created.id)}: role ${cleanCell(created.role)}, open until ` +
      `${shortTime(created.expires_at)} UTC.\n` +
      "The code above is shown only this once: give it to the person it is for.\n",
  );
  return EXIT.ok;
}

/** `--expires`: a duration from {@link MIN_INVITE_SECONDS} to {@link MAX_INVITE_SECONDS}. */
export function parseInviteExpiry(value: string): number {
  const seconds = parseDuration("--expires", value);
  if (seconds >= MIN_INVITE_SECONDS && seconds <= MAX_INVITE_SECONDS) return seconds;
  throw new UsageError([
    `--expires: cannot use "${value}": an invite stays open from 1 minute (1m) ` +
    `to ${MAX_INVITE_SECONDS / 86_400} days (90d)`,
  ]);
}
