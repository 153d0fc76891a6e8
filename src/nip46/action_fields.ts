/** Fields of a reply action that the policy and the audit log look at. */
import type { ReplyAction } from "../signer/protocol.ts";
import { isHex64 } from "../util/hex.ts";

/** The id of a signed event returned as JSON by sign_event, if it parses. */
export function signedEventId(result: string): string | undefined {
  try {
    const id = (JSON.parse(result) as { id?: unknown }).id;
    return isHex64(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The content a policy's content rule checks: the event's or the plaintext to encrypt. */
export function contentOf(action: ReplyAction): string | undefined {
  if (action.type === "sign_event") {
    try {
      const content = (JSON.parse(String(action.template)) as { content?: unknown }).content;
      return typeof content === "string" ? content : undefined;
    } catch {
      return undefined;
    }
  }
  if (action.type === "encrypt") return action.plaintext;
  return undefined;
}

/** The peer of an encrypt/decrypt action. */
export function counterpartyOf(action: ReplyAction): string | undefined {
  return action.type === "encrypt" || action.type === "decrypt" ? action.peer : undefined;
}

/** The `created_at` of a sign_event template when it is a number (the policy bounds it). */
export function createdAtOf(action: ReplyAction): number | undefined {
  if (action.type !== "sign_event") return undefined;
  try {
    const createdAt = (JSON.parse(String(action.template)) as { created_at?: unknown })
      .created_at;
    return typeof createdAt === "number" ? createdAt : undefined;
  } catch {
    return undefined;
  }
}
