/** The audit log as operators read it: decisions and reasons, oldest first, never secrets. */
import type { AuditQuery, AuditRecord } from "../db/repos/audit.ts";
import type { ServiceDeps } from "./deps.ts";

/** Rows matching `filter`, oldest first (at most 1,000). */
export function queryAudit(
  deps: Pick<ServiceDeps, "repos">,
  filter: AuditQuery,
): Promise<AuditRecord[]> {
  return deps.repos.audit.query(filter);
}
