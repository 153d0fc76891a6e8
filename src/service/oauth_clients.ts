/**
 * OAuth clients an operator registers: each pins the exact redirect URIs its codes may go to
 * (custom app schemes are allowed only this way) and may name the policy its grants get.
 */
import type { OAuthClientRecord } from "../db/repos/oauth.ts";
import type { ServiceDeps } from "./deps.ts";
import { invalid, notFound, quote } from "./errors.ts";
import { checkRedirectUri } from "./oauth.ts";
import { policyForUse } from "./policies.ts";

/** Most redirect URIs one client may register. */
export const MAX_REDIRECT_URIS = 20;

/** Registers (or replaces) a client. */
export async function registerOAuthClient(
  deps: ServiceDeps,
  input: { clientId: string; name: string; redirectUris: string[]; policy?: string | null },
): Promise<OAuthClientRecord> {
  const clientId = input.clientId.trim();
  if (!/^[\x21-\x7e]{1,200}$/.test(clientId)) {
    throw invalid("client_id", "use 1 to 200 printable ASCII characters without spaces");
  }
  const name = input.name.trim();
  if (name === "" || name.length > 100 || /\p{Cc}/u.test(name)) {
    throw invalid("name", "use 1 to 100 characters, no control characters");
  }
  if (input.redirectUris.length === 0 || input.redirectUris.length > MAX_REDIRECT_URIS) {
    throw invalid("redirect_uris", `give 1 to ${MAX_REDIRECT_URIS} redirect URIs`);
  }
  for (const [i, uri] of input.redirectUris.entries()) {
    // Any scheme may be registered, but never a fragment, credentials or javascript:.
    if (/\s/.test(uri)) throw invalid(`redirect_uris[${i}]`, "must not contain spaces or tabs");
    const checked = checkRedirectUri(uri, [uri]);
    if (!checked.ok) throw invalid(`redirect_uris[${i}]`, checked.problem);
    if (["javascript:", "data:", "vbscript:", "file:"].includes(new URL(uri).protocol)) {
      throw invalid(`redirect_uris[${i}]`, `${quote(uri, 40)} cannot receive codes`);
    }
  }
  const policy = input.policy?.trim() || null;
  if (policy !== null) await policyForUse(deps, policy);
  await deps.repos.oauth.putClient({
    clientId,
    name,
    redirectUris: [...new Set(input.redirectUris)],
    policyName: policy,
  });
  return (await deps.repos.oauth.getClient(clientId))!;
}

/** Every registered client. */
export function listOAuthClients(deps: ServiceDeps): Promise<OAuthClientRecord[]> {
  return deps.repos.oauth.listClients();
}

/** Removes a registered client (grants it already has stay until revoked). */
export async function removeOAuthClient(deps: ServiceDeps, clientId: string): Promise<void> {
  if (!(await deps.repos.oauth.deleteClient(clientId))) {
    throw notFound(`No registered OAuth client ${quote(clientId)}`, "client_id");
  }
}
