/**
 * The commands the admin services send to the relay listener through the authorization channel.
 * Each is sent after the database write it describes (see `src/service/changes.ts`), so the
 * database stays the source of truth and a `reload` can always stand in for lost commands.
 */
import type { ActiveAuthorization } from "../domain/authorization.ts";

/** One change for the listener: add or replace, remove, or re-read everything from the database. */
export type AuthorizationCommand =
  | { type: "upsert"; authorization: ActiveAuthorization }
  | { type: "remove"; bunkerPubkey: string }
  | { type: "reload" };
