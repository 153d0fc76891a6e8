/**
 * A raw NIP-01 client for tests, over `npm:ws` (which sets TCP_NODELAY, unlike Deno's client).
 * Incoming messages are queued; {@link RelayTestClient.next} takes the first one matching.
 */
// @ts-types="@types/ws"
import WebSocket from "ws";

/** One relay message as received (a parsed JSON array). */
export type RelayMessage = unknown[];

/** A connected test client. Dispose it to close the socket and wait for the close. */
export class RelayTestClient implements AsyncDisposable {
  /** Resolves with the close code once the socket has closed. */
  readonly closed: Promise<number>;
  readonly #socket: WebSocket;
  readonly #queue: RelayMessage[] = [];
  #wake: (() => void) | undefined;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => socket.once("close", (code) => resolve(code)));
    this.closed.then(() => this.#wake?.());
    socket.on("message", (data) => {
      try {
        this.#queue.push(JSON.parse(String(data)));
      } catch (_error: unknown) {
        this.#queue.push(["UNPARSEABLE", String(data)]); // Lets a test see what the relay sent.
      }
      this.#wake?.();
    });
  }

  /** Connects to `url`; rejects with the socket error (e.g. HTTP 503) or after `timeoutMs`. */
  static async connect(url: string, timeoutMs = 5_000): Promise<RelayTestClient> {
    const socket = new WebSocket(url);
    const client = new RelayTestClient(socket);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve());
        socket.once("error", reject);
        timer = setTimeout(
          () => reject(new Error(`Cannot connect to "${url}" in ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      socket.on("error", () => {}); // Later errors end in "close", which `closed` reports.
      return client;
    } catch (error: unknown) {
      socket.terminate();
      await client.closed;
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends one client message (serialized as JSON) or a raw string. */
  send(message: readonly unknown[] | string): void {
    this.#socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** Takes the first queued message matching `accept` (default: any), waiting up to `timeoutMs`. */
  async next(
    accept: (message: RelayMessage) => boolean = () => true,
    timeoutMs = 3_000,
  ): Promise<RelayMessage> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const index = this.#queue.findIndex(accept);
      if (index >= 0) return this.#queue.splice(index, 1)[0]!;
      const left = deadline - performance.now();
      if (left <= 0 || this.#socket.readyState >= WebSocket.CLOSING) {
        throw new Error(
          `No matching relay message within ${timeoutMs} ms; queued: ${
            JSON.stringify(this.#queue)
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** Takes the next message of `type` (e.g. "OK", "EOSE") for `key` (event or subscription id). */
  nextOf(type: string, key?: string, timeoutMs?: number): Promise<RelayMessage> {
    return this.next((m) => m[0] === type && (key === undefined || m[1] === key), timeoutMs);
  }

  /** Closes the socket and waits for it to close (terminating it after `timeoutMs`). */
  async close(timeoutMs = 2_000): Promise<void> {
    if (this.#socket.readyState === WebSocket.CLOSED) return;
    this.#socket.close();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<void>((resolve) => timer = setTimeout(resolve, timeoutMs));
    await Promise.race([this.closed, timedOut]);
    clearTimeout(timer);
    this.#socket.terminate();
    await this.closed;
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
