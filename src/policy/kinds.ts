/** Kind matching for policies; the kinds themselves live in `src/nostr/kinds.ts`. */
import type { KindSpec } from "./document.ts";

export { DANGEROUS_KINDS, isDangerousKind, isKind, MAX_KIND } from "../nostr/kinds.ts";

/** Whether `kind` is listed in `specs`, as an integer or inside an inclusive range. */
export function kindListed(specs: readonly KindSpec[], kind: number): boolean {
  return specs.some((spec) =>
    typeof spec === "number" ? spec === kind : spec[0] <= kind && kind <= spec[1]
  );
}
