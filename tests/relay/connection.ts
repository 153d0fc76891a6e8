/** One client socket of the test relay: its subscriptions, NIP-42 state and (delayed) sending. */
import { bytesToHex } from "@noble/hashes/utils.js";
import type { Filter } from "./filters.ts";

/** The part of a `ws` WebSocket a connection uses. */
export interface ClientSocket {
  /** 1 while open (WebSocket.OPEN). */
  readonly readyState: number;
  send(text: string): void;
  terminate(): void;
}

const OPEN = 1;

/** Per-socket state. Outgoing messages wait `delayMs()` first when that is above zero. */
export class Connection {
  /** Open subscriptions: id → filters. */
  readonly subscriptions = new Map<string, Filter[]>();
  /** Pubkeys that completed NIP-42 AUTH on this socket. */
  readonly authedPubkeys = new Set<string>();
  /** NIP-42 challenge for this socket. */
  readonly challenge = bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
  /** Host header the client connected with; AUTH `relay` tags must name it. */
  readonly host: string;
  readonly #socket: ClientSocket;
  readonly #delayMs: () => number;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(socket: ClientSocket, host: string, delayMs: () => number) {
    this.#socket = socket;
    this.host = host;
    this.#delayMs = delayMs;
  }

  /** Sends a relay message (a JSON array). */
  send(message: readonly unknown[]): void {
    this.sendText(JSON.stringify(message));
  }

  /** Sends an already serialized message. */
  sendText(text: string): void {
    const delayMs = this.#delayMs();
    if (delayMs <= 0) return this.#write(text);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#write(text);
    }, delayMs);
    this.#timers.add(timer);
  }

  /** Closes the socket without a close handshake (the client sees code 1006). */
  terminate(): void {
    this.dispose();
    this.#socket.terminate();
  }

  /** Forgets subscriptions and pending delayed messages; called when the socket closes. */
  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.subscriptions.clear();
  }

  #write(text: string): void {
    if (this.#socket.readyState === OPEN) this.#socket.send(text);
  }
}
