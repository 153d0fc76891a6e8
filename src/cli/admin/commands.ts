/**
 * The management subcommands: thin clients of a running server's admin API (every change travels
 * API → database → channel → listener). `main.ts` dispatches to {@link ADMIN_COMMANDS}.
 */
import { accountsCommand } from "./accounts.ts";
import { auditCommand } from "./audit.ts";
import { authorizationsCommand } from "./authorizations.ts";
import { authorizeCommand } from "./authorize.ts";
import type { Subcommand } from "./common.ts";
import { connectCommand } from "./connect.ts";
import { instancesCommand } from "./instances.ts";
import { keysCommand } from "./keys.ts";
import { oauthCommand } from "./oauth.ts";
import { policiesCommand } from "./policies.ts";

export type { Subcommand } from "./common.ts";

/**
 * `keys`, `authorize`, `authorizations`, `policies`, `connect`, `audit`, `accounts`, `oauth` and
 * `instances`, in help order.
 */
export const ADMIN_COMMANDS: Subcommand[] = [
  keysCommand,
  authorizeCommand,
  authorizationsCommand,
  policiesCommand,
  connectCommand,
  auditCommand,
  accountsCommand,
  oauthCommand,
  instancesCommand,
];
