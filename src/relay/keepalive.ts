/** Keepalive for one open socket: ping every interval, terminate when a pong is late. */
import type { Timer } from "./types.ts";

/** The socket operations a {@link Keepalive} needs (a subset of `ws`). */
export interface Pingable {
  /** Sends a ping frame. */
  ping(): void;
  /** Destroys the socket at once. */
  terminate(): void;
}

/** Pings `socket` every `intervalMs`; a pong missing after `timeoutMs` terminates it. */
export class Keepalive {
  readonly #socket: Pingable;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #onDead: (reason: string) => void;
  #timer?: Timer;
  #stopped = false;

  /** Starts at once; `intervalMs` 0 disables pings. `onDead` runs before the terminate. */
  constructor(
    socket: Pingable,
    intervalMs: number,
    timeoutMs: number,
    onDead: (reason: string) => void,
  ) {
    this.#socket = socket;
    this.#intervalMs = intervalMs;
    this.#timeoutMs = timeoutMs;
    this.#onDead = onDead;
    this.#schedule();
  }

  /** Records a pong and schedules the next ping. */
  pong(): void {
    this.#schedule();
  }

  /** Clears the timer for good. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#stopped || this.#intervalMs <= 0) return;
    this.#timer = setTimeout(() => {
      this.#socket.ping();
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#onDead(`keepalive timeout: no pong within ${this.#timeoutMs} ms`);
        this.#socket.terminate();
      }, this.#timeoutMs);
    }, this.#intervalMs);
  }
}
