/**
 * Authorization ids as people type them: the full UUID, or any unique prefix of it (`audit` prints
 * the first 8 characters). A prefix is resolved against the list of every authorization, revoked
 * ones included, so an old audit line can still be looked up.
 */
import { isUuid } from "../../domain/fields.ts";
import type { AdminClient, AuthorizationView } from "../client.ts";
import { CommandFailure, UsageError } from "./common.ts";
import { cleanCell } from "./table.ts";

/** Most matching authorizations listed when a prefix is ambiguous. */
export const MAX_LISTED_MATCHES = 10;

/**
 * The full id for `idOrPrefix` (already checked by `checkIdOrPrefix`): a UUID as it is, else the
 * one authorization whose id starts with it. None is a {@link CommandFailure} (exit 1); several
 * are a {@link UsageError} (exit 2) listing at most {@link MAX_LISTED_MATCHES} of them.
 */
export async function resolveAuthorizationId(
  client: AdminClient,
  what: string,
  idOrPrefix: string,
): Promise<string> {
  const prefix = idOrPrefix.toLowerCase();
  if (isUuid(prefix)) return prefix;
  const matches = (await client.listAuthorizations(true)).filter((a) =>
    a.id.toLowerCase().startsWith(prefix)
  );
  const [only] = matches;
  if (only && matches.length === 1) return only.id.toLowerCase();
  if (!only) throw new CommandFailure(`No authorization id starts with "${prefix}"`);
  const more = matches.length - MAX_LISTED_MATCHES;
  throw new UsageError([
    `${what}: ${matches.length} authorization ids start with "${prefix}": give more characters`,
    ...matches.slice(0, MAX_LISTED_MATCHES).map(describe),
    ...(more > 0 ? [`  … and ${more} more`] : []),
  ]);
}

/** One candidate line: id, key, label and status. */
function describe(a: AuthorizationView): string {
  const status = a.status ?? (a.revoked_at ? "revoked" : "active");
  const label = a.label ? `, ${cleanCell(a.label)}` : "";
  return `  ${cleanCell(a.id)}  (key "${cleanCell(a.key_name)}"${label}, ${status})`;
}
