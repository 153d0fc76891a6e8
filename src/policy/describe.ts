/**
 * A policy document in plain words, for the pages where a person chooses what an app may do.
 * Only the parts a person decides on are described; every sentence comes from the document, so a
 * stored policy reads as truly as a built-in one.
 */
import { DANGEROUS_KINDS, kindLabel } from "../nostr/kinds.ts";

const ENCRYPTION = ["nip04_encrypt", "nip04_decrypt", "nip44_encrypt", "nip44_decrypt"];

/** What an app under `rules` may do, one sentence each. */
export function describePolicy(rules: Record<string, unknown> | null | undefined): string[] {
  const doc = rules ?? {};
  const methods = Array.isArray(doc.methods) ? doc.methods.map(String) : undefined;
  const allowed = (method: string) => methods === undefined || methods.includes(method);
  const words: string[] = [];

  if (!allowed("sign_event")) {
    words.push("Sign nothing.");
  } else if (Array.isArray(doc.kinds)) {
    words.push(`Sign only: ${doc.kinds.map(kindWords).join(", ")}.`);
  } else {
    words.push("Sign events of any kind except the sensitive ones below.");
  }

  const encrypt = ENCRYPTION.filter((method) => method.endsWith("encrypt")).some(allowed);
  const decrypt = ENCRYPTION.filter((method) => method.endsWith("decrypt")).some(allowed);
  if (encrypt && decrypt) words.push("Encrypt and decrypt messages.");
  else if (decrypt) words.push("Decrypt messages, but not encrypt new ones.");
  else if (encrypt) words.push("Encrypt messages, but not decrypt them.");
  else words.push("Neither encrypt nor decrypt messages.");
  if (doc.encrypt_to_self === true) words.push("Encryption only to yourself.");

  const perClient = (doc.rate_limits as { per_client?: { per_minute?: unknown } } | undefined)
    ?.per_client?.per_minute;
  if (typeof perClient === "number") words.push(`At most ${perClient} requests a minute.`);

  const optedIn = new Set(
    Array.isArray(doc.allow_dangerous_kinds) ? doc.allow_dangerous_kinds.map(Number) : [],
  );
  const never = DANGEROUS_KINDS.filter((kind) => !optedIn.has(kind));
  if (allowed("sign_event") && never.length > 0) {
    const named = never.slice(0, 4).map((kind) => kindLabel(kind).toLowerCase());
    const more = never.length > 4 ? ` and ${never.length - 4} more sensitive kinds` : "";
    words.push(`Never: ${named.join(", ")}${more}.`);
  }
  return words;
}

function kindWords(entry: unknown): string {
  if (Array.isArray(entry)) return `kinds ${entry[0]}–${entry[1]}`;
  return typeof entry === "number" ? kindLabel(entry) : String(entry);
}
