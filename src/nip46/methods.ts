/**
 * Method dispatch: turns a validated request from a known authorization into the reply action the
 * signer runs. Pure apart from the connect/logout database writes, which go through `clients`.
 */
import type { ActiveAuthorization, AuthorizedClient } from "../channel/command.ts";
import type { ClientsRepo } from "../db/repos/clients.ts";
import type { KeyRef, ReplyAction } from "../signer/protocol.ts";
import { isHex64 } from "../util/hex.ts";
import { connectClient, isConnected } from "./connect.ts";
import { errorReason, isKnownMethod, type Nip46Request } from "./protocol.ts";

/** What a handled request produces: the action and, when the authorization changed, its new value. */
export interface Dispatch {
  action: ReplyAction;
  /**
   * Set by connect/logout: this client's new entry. Only the entry travels, so concurrent
   * connects (and policy updates arriving meanwhile) are merged into the newest authorization
   * instead of overwriting each other.
   */
  client?: AuthorizedClient;
  /** Event kind for sign_event (for policy and audit). */
  kind?: number;
}

/** Dependencies of {@link dispatch}. */
export interface DispatchDeps {
  clients: Pick<ClientsRepo, "redeem" | "logout">;
}

/** Methods a client may call before it has connected. */
const OPEN_METHODS = new Set(["connect", "ping"]);

/** Chooses the reply for `request` from `clientPubkey` on a live `authorization`. */
export async function dispatch(
  deps: DispatchDeps,
  authorization: ActiveAuthorization,
  clientPubkey: string,
  request: Nip46Request,
): Promise<Dispatch> {
  const { method, params } = request;
  if (!isKnownMethod(method)) return fail(errorReason("unsupported", method.slice(0, 64)));
  if (!OPEN_METHODS.has(method) && !isConnected(authorization, clientPubkey)) {
    return fail(errorReason("unauthorized", "connect with the connection secret first"));
  }
  const user: KeyRef = { pubkey: authorization.userPubkey, sealed: authorization.userSecretSealed };
  switch (method) {
    case "connect": {
      const outcome = await connectClient(deps.clients, authorization, clientPubkey, params);
      return outcome.ok
        ? {
          action: { type: "result", result: outcome.result },
          client: { clientPubkey, loggedOut: false },
        }
        : fail(outcome.error);
    }
    case "ping":
      return ok("pong");
    case "get_public_key":
      return ok(authorization.userPubkey);
    case "switch_relays":
    case "get_relays":
      return ok(JSON.stringify(authorization.relays));
    case "logout": {
      await deps.clients.logout(authorization.id, clientPubkey);
      return {
        action: { type: "result", result: "ack" },
        client: { clientPubkey, loggedOut: true },
      };
    }
    case "sign_event": {
      if (params.length < 1) return fail(errorReason("invalid", "sign_event needs an event"));
      const kind = templateKind(params[0]!);
      if (kind === undefined) {
        return fail(errorReason("invalid", "the event template is malformed"));
      }
      return { action: { type: "sign_event", user, template: params[0] }, kind };
    }
    case "nip04_encrypt":
    case "nip44_encrypt":
    case "nip04_decrypt":
    case "nip44_decrypt": {
      const [peer, text] = params;
      if (!isHex64(peer) || text === undefined) {
        return fail(errorReason("invalid", `${method} needs [hex pubkey, text]`));
      }
      const scheme = method.startsWith("nip04") ? "nip04" : "nip44";
      return method.endsWith("encrypt")
        ? { action: { type: "encrypt", scheme, user, peer, plaintext: text } }
        : { action: { type: "decrypt", scheme, user, peer, ciphertext: text } };
    }
  }
}

/** The `kind` of a JSON event template, or undefined when it does not parse. */
export function templateKind(template: string): number | undefined {
  try {
    const kind = (JSON.parse(template) as { kind?: unknown })?.kind;
    return Number.isInteger(kind) && (kind as number) >= 0 && (kind as number) <= 65535
      ? kind as number
      : undefined;
  } catch {
    return undefined;
  }
}

function ok(result: string): Dispatch {
  return { action: { type: "result", result } };
}

function fail(error: string): Dispatch {
  return { action: { type: "error", error } };
}
