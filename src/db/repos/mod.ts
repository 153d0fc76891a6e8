/** One object holding every repository over the same database. */
import type { Db } from "../db.ts";
import { AuditRepo } from "./audit.ts";
import { AuthorizationsRepo } from "./authorizations.ts";
import { ClientsRepo } from "./clients.ts";
import { KeysRepo } from "./keys.ts";
import { PoliciesRepo } from "./policies.ts";

/** The repositories, one per table. */
export interface Repos {
  keys: KeysRepo;
  policies: PoliciesRepo;
  authorizations: AuthorizationsRepo;
  clients: ClientsRepo;
  audit: AuditRepo;
}

/** Builds every repository over `db`. */
export function createRepos(db: Db): Repos {
  return {
    keys: new KeysRepo(db),
    policies: new PoliciesRepo(db),
    authorizations: new AuthorizationsRepo(db),
    clients: new ClientsRepo(db),
    audit: new AuditRepo(db),
  };
}
