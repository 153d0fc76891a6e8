/**
 * `connect`: redeem the connection secret (docs/ARCHITECTURE.md, "What clients need"). The
 * secret is required, compared in constant time (as sha256 digests, so lengths never leak), bound
 * to the first client that redeems it, and `max_uses` counts distinct clients. A known client gets
 * `"ack"` again.
 */
import { constantTimeEqualText as constantTimeEqual } from "../util/constant_time.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import { sha256Hex } from "../util/hex.ts";
import { errorReason } from "./protocol.ts";

/** Outcome of a connect: the reply result (the client is then bound), or an error reason. */
export type ConnectOutcome = { ok: true; result: string } | { ok: false; error: string };

/** True when `clientPubkey` redeemed the secret and has not logged out. */
export function isConnected(authorization: ActiveAuthorization, clientPubkey: string): boolean {
  return authorization.clients.some((c) => c.clientPubkey === clientPubkey && !c.loggedOut);
}

/** Handles `connect` params `[remotePubkey, secret?, perms?, metadata?]` from `clientPubkey`. */
export async function connectClient(
  clients: Pick<ClientsRepo, "redeem">,
  authorization: ActiveAuthorization,
  clientPubkey: string,
  params: readonly string[],
): Promise<ConnectOutcome> {
  if (isConnected(authorization, clientPubkey)) {
    return { ok: true, result: "ack" };
  }
  const secret = params[1] ?? "";
  if (secret === "") {
    return { ok: false, error: errorReason("unauthorized", "a connection secret is required") };
  }
  if (!constantTimeEqual(await sha256Hex(secret), authorization.secretHash)) {
    return { ok: false, error: errorReason("unauthorized", "invalid connection secret") };
  }
  const outcome = await clients.redeem({
    authorizationId: authorization.id,
    clientPubkey,
    requestedPerms: params[2] ? params[2].slice(0, 2048) : null,
    clientMetadata: parseMetadata(params[3]),
  });
  switch (outcome.status) {
    case "redeemed":
    case "known":
      return { ok: true, result: "ack" };
    case "logged-out":
      return {
        ok: false,
        error: errorReason(
          "unauthorized",
          "this client logged out; a new connection secret is needed",
        ),
      };
    case "exhausted":
      return {
        ok: false,
        error: errorReason(
          "unauthorized",
          `connection secret already used (max_uses ${outcome.maxUses})`,
        ),
      };
    case "missing":
      return { ok: false, error: errorReason("revoked", "the authorization is no longer active") };
  }
}

function parseMetadata(param: string | undefined): Record<string, unknown> | null {
  if (!param || param.length > 4096) return null;
  try {
    const value: unknown = JSON.parse(param);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? value as Record<string, unknown>
      : null;
  } catch {
    return null; // metadata is a display-only hint: ignore what does not parse
  }
}

export { constantTimeEqual };
