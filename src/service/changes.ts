/**
 * The one place where a committed change reaches the listener: every admin service calls
 * {@link AuthorizationChanges} after its database write has committed, never before, so the
 * database stays the source of truth and a lost command is healed by the next `reload`. The
 * cross-instance bridge extends this class to publish the same commands to other instances.
 */
import type { AuthorizationChannel } from "../channel/channel.ts";
import type { AuthorizationCommand } from "../channel/command.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import type { AuthorizationsRepo } from "../db/repos/authorizations.ts";

/** Sends the listener what changed, after it was committed. */
export class AuthorizationChanges {
  readonly #authorizations: Pick<
    AuthorizationsRepo,
    "loadActiveById" | "loadActiveByPolicy" | "unrevokedOfAccount"
  >;
  readonly #channel: AuthorizationChannel;

  constructor(
    authorizations: Pick<
      AuthorizationsRepo,
      "loadActiveById" | "loadActiveByPolicy" | "unrevokedOfAccount"
    >,
    channel: AuthorizationChannel,
  ) {
    this.#authorizations = authorizations;
    this.#channel = channel;
  }

  /**
   * After authorization `id` was created or changed: re-reads it as the listener sees it and
   * sends an `upsert`. Returns what was sent, or undefined when it is no longer live.
   */
  async upserted(id: string): Promise<ActiveAuthorization | undefined> {
    const active = await this.#authorizations.loadActiveById(id);
    if (active) this.send({ type: "upsert", authorization: active });
    return active;
  }

  /** After the authorization with `bunkerPubkey` was revoked: sends a `remove`. */
  removed(bunkerPubkey: string): void {
    this.send({ type: "remove", bunkerPubkey });
  }

  /** After policy `name` changed: re-sends every live authorization using it; returns how many. */
  async policyChanged(name: string): Promise<number> {
    const live = await this.#authorizations.loadActiveByPolicy(name);
    for (const authorization of live) this.send({ type: "upsert", authorization });
    return live.length;
  }

  /**
   * After account `accountId` was disabled or enabled: each of its unrevoked authorizations is
   * sent again as it now is — an `upsert` when live, a `remove` when not (disabled, expired).
   * Returns how many were sent.
   */
  async accountChanged(accountId: string): Promise<number> {
    const unrevoked = await this.#authorizations.unrevokedOfAccount(accountId);
    for (const { id, bunkerPubkey } of unrevoked) {
      const active = await this.#authorizations.loadActiveById(id);
      this.send(
        active ? { type: "upsert", authorization: active } : { type: "remove", bunkerPubkey },
      );
    }
    return unrevoked.length;
  }

  /** Sends one command; subclasses extend it to reach other instances too. */
  protected send(command: AuthorizationCommand): void {
    this.#channel.send(command);
  }
}
