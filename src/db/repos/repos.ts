/** One object holding every repository over the same database. */
import type { Db } from "../db.ts";
import { AccountEventsRepo } from "./account_events.ts";
import { AccountsRepo } from "./accounts.ts";
import { AuditRepo } from "./audit.ts";
import { AuthorizationsRepo } from "./authorizations.ts";
import { ClientsRepo } from "./clients.ts";
import { KeysRepo } from "./keys.ts";
import { OAuthRepo } from "./oauth.ts";
import { InvitesRepo } from "./invites.ts";
import { PoliciesRepo } from "./policies.ts";
import { Nip98ReplaysRepo } from "./replays.ts";
import { SessionsRepo } from "./sessions.ts";

/** The repositories, one per table. */
export interface Repos {
  keys: KeysRepo;
  policies: PoliciesRepo;
  authorizations: AuthorizationsRepo;
  clients: ClientsRepo;
  audit: AuditRepo;
  nip98Replays: Nip98ReplaysRepo;
  accounts: AccountsRepo;
  sessions: SessionsRepo;
  invites: InvitesRepo;
  accountEvents: AccountEventsRepo;
  oauth: OAuthRepo;
}

/** Builds every repository over `db`; `now` (ms) stamps rows and decides expiry. */
export function createRepos(db: Db, opts: { now?: () => number } = {}): Repos {
  const now = opts.now ?? Date.now;
  return {
    keys: new KeysRepo(db, now),
    policies: new PoliciesRepo(db, now),
    authorizations: new AuthorizationsRepo(db, now),
    clients: new ClientsRepo(db, now),
    audit: new AuditRepo(db),
    nip98Replays: new Nip98ReplaysRepo(db, now),
    accounts: new AccountsRepo(db, now),
    sessions: new SessionsRepo(db, now),
    invites: new InvitesRepo(db, now),
    oauth: new OAuthRepo(db, now),
    accountEvents: new AccountEventsRepo(db, now),
  };
}
