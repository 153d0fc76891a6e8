/**
 * A WebSocket client written by hand over a TCP socket on 127.0.0.1, for tests where the test, not
 * a library, decides when the client reads. It sends the upgrade request itself and keeps what the
 * server answered (a refusal's status, headers and body, or `101`), sends masked text frames, and
 * reads nothing until asked. Deno's and `ws`'s clients read every frame as it arrives; a client
 * that stops reading this way leaves the server's frames in the kernel's socket buffers until they
 * fill, after which the server's own send queue grows: the slow consumer a relay must drop.
 *
 *   await using socket = await RawWebSocket.open(port, `/${bunkerPubkey}`);
 *   const challenge = await socket.nextText();
 *   await socket.send('["REQ","s",{…}]'); // …and read nothing for a while…
 *   const { code } = await socket.readUntilClose();
 */
import { deadline, TimeoutError } from "../../src/util/async.ts";

/** How {@link RawWebSocket.readUntilClose} ended. */
export interface Drained {
  /** How the connection ended: a close frame, the end of the TCP stream, or a TCP reset. */
  end: "close" | "eof" | "reset";
  /** The close frame's code (1005 when it has none); undefined without a close frame. */
  code: number | undefined;
  /** Bytes read until the end, including the close frame. */
  bytes: number;
  /** Frames read before the close frame. */
  frames: number;
}

const HEAD_END = new TextEncoder().encode("\r\n\r\n");

/** One hand-driven client connection. Dispose it to close the TCP socket. */
export class RawWebSocket implements AsyncDisposable {
  /** The HTTP status of the upgrade response (101 when upgraded). */
  readonly status: number;
  /** The headers of the upgrade response. */
  readonly headers: Headers;
  readonly #conn: Deno.TcpConn;
  /** Bytes read past the response head and not consumed yet. */
  #pending: Uint8Array;
  #closed = false;

  private constructor(conn: Deno.TcpConn, status: number, headers: Headers, rest: Uint8Array) {
    this.#conn = conn;
    this.status = status;
    this.headers = headers;
    this.#pending = rest;
  }

  /** Connects to `127.0.0.1:port`, asks to upgrade `path` and reads the response head. */
  static async open(port: number, path: string, timeoutMs = 5_000): Promise<RawWebSocket> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    const request = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      `Sec-WebSocket-Key: ${key}`,
      "",
      "",
    ].join("\r\n");
    try {
      const until = Date.now() + timeoutMs;
      await writeAll(conn, new TextEncoder().encode(request), timeoutMs);
      let received: Uint8Array = new Uint8Array();
      let end: number;
      while ((end = indexOf(received, HEAD_END)) === -1) {
        if (received.length > 16_384) throw new Error("The upgrade response head is too long");
        const chunk = await readSome(conn, until - Date.now());
        if (chunk === null) throw new Error(`The server ended the connection to ${path} at once`);
        received = concat(received, chunk);
      }
      const [statusLine = "", ...lines] = new TextDecoder().decode(received.subarray(0, end))
        .split("\r\n");
      const headers = new Headers();
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      }
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? 0);
      return new RawWebSocket(conn, status, headers, received.subarray(end + HEAD_END.length));
    } catch (error: unknown) {
      conn.close();
      throw error;
    }
  }

  /** The body of a refusal (a response that did not upgrade): `Content-Length` bytes. */
  async body(timeoutMs = 5_000): Promise<string> {
    const length = Number(this.headers.get("content-length"));
    if (!Number.isSafeInteger(length) || length > 65_536) {
      throw new Error(`Cannot read a body of length "${this.headers.get("content-length")}"`);
    }
    const until = Date.now() + timeoutMs;
    while (this.#pending.length < length) {
      const chunk = await this.#read(until - Date.now());
      if (chunk === null) break;
      this.#pending = concat(this.#pending, chunk);
    }
    return new TextDecoder().decode(this.#pending.subarray(0, length));
  }

  /** Sends `text` as one masked text frame (under 64 KiB). */
  async send(text: string, timeoutMs = 5_000): Promise<void> {
    const payload = new TextEncoder().encode(text);
    if (payload.length >= 65_536) throw new Error("Cannot send 64 KiB or more in one frame here");
    const head = payload.length < 126
      ? [0x81, 0x80 | payload.length]
      : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const frame = new Uint8Array(head.length + 4 + payload.length);
    frame.set(head);
    frame.set(mask, head.length);
    for (let i = 0; i < payload.length; i++) {
      frame[head.length + 4 + i] = payload[i]! ^ mask[i % 4]!;
    }
    try {
      await writeAll(this.#conn, frame, timeoutMs);
    } catch (error: unknown) {
      if (error instanceof TimeoutError) this.#close(); // Ends the write left pending.
      throw error;
    }
  }

  /** Reads the next text frame (one NIP-01 message), waiting up to `timeoutMs`. */
  async nextText(timeoutMs = 5_000): Promise<string> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const frame = frameAt(this.#pending, 0);
      if (frame) {
        const payload = this.#pending.subarray(frame.payloadAt, frame.end);
        this.#pending = this.#pending.subarray(frame.end);
        if (frame.opcode === 0x1) return new TextDecoder().decode(payload);
        if (frame.opcode === 0x8) throw new Error("The server closed the connection");
        continue; // A ping or a binary frame: not a NIP-01 message.
      }
      const chunk = await this.#read(until - Date.now());
      if (chunk === null) throw new Error("The server ended the connection");
      this.#pending = concat(this.#pending, chunk);
    }
  }

  /**
   * Reads and drops frames until the server's close frame, the end of the stream or a reset, for
   * at most `timeoutMs` (default 10_000) and `maxBytes` (default 64 MiB).
   */
  async readUntilClose(opts: { timeoutMs?: number; maxBytes?: number } = {}): Promise<Drained> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    const until = Date.now() + timeoutMs;
    let buffer = this.#pending;
    let bytes = buffer.length;
    let frames = 0;
    for (;;) {
      let offset = 0;
      for (let frame = frameAt(buffer, 0); frame; frame = frameAt(buffer, offset)) {
        if (frame.opcode === 0x8) {
          const payload = buffer.subarray(frame.payloadAt, frame.end);
          const code = payload.length >= 2 ? (payload[0]! << 8) | payload[1]! : 1005;
          this.#pending = buffer.subarray(frame.end);
          return { end: "close", code, bytes: bytes - this.#pending.length, frames };
        }
        frames++;
        offset = frame.end;
      }
      buffer = buffer.subarray(offset);
      if (bytes > maxBytes) throw new Error(`No close frame in the first ${maxBytes} bytes`);
      let chunk: Uint8Array | null;
      try {
        chunk = await this.#read(until - Date.now());
      } catch (error: unknown) {
        if (error instanceof Deno.errors.ConnectionReset) {
          return { end: "reset", code: undefined, bytes, frames };
        }
        if (!(error instanceof TimeoutError)) throw error;
        throw new TimeoutError(
          `No close frame within ${timeoutMs} ms (${bytes} bytes in ${frames} frames read)`,
        );
      }
      if (chunk === null) return { end: "eof", code: undefined, bytes, frames };
      bytes += chunk.length;
      buffer = concat(buffer, chunk);
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#close();
    return Promise.resolve();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#conn.close();
  }

  /** One read; on timeout the socket is closed (which ends the read) and it throws. */
  async #read(timeoutMs: number): Promise<Uint8Array | null> {
    try {
      return await readSome(this.#conn, timeoutMs);
    } catch (error: unknown) {
      if (error instanceof TimeoutError) this.#closed = true; // readSome closed it.
      throw error;
    }
  }
}

/** One read of up to 64 KiB within `timeoutMs`; on timeout closes `conn` and throws. */
async function readSome(conn: Deno.TcpConn, timeoutMs: number): Promise<Uint8Array | null> {
  const buffer = new Uint8Array(65_536);
  const read = conn.read(buffer);
  try {
    const n = await deadline(read, Math.max(1, timeoutMs));
    return n === null ? null : buffer.subarray(0, n);
  } catch (error: unknown) {
    if (!(error instanceof TimeoutError)) throw error;
    conn.close();
    await read.catch(() => null); // Ended by the close: its rejection is expected.
    throw error;
  }
}

/** Writes all of `data` within `timeoutMs`; a timeout leaves the write pending (close `conn`). */
async function writeAll(conn: Deno.TcpConn, data: Uint8Array, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let written = 0; written < data.length;) {
    written += await deadline(conn.write(data.subarray(written)), Math.max(1, until - Date.now()));
  }
}

/** The frame starting at `offset` of `buffer`, when all of it has arrived. */
function frameAt(
  buffer: Uint8Array,
  offset: number,
): { opcode: number; payloadAt: number; end: number } | undefined {
  if (buffer.length - offset < 2) return undefined;
  const second = buffer[offset + 1]!;
  let length = second & 0x7f;
  let head = 2;
  if (length === 126) {
    if (buffer.length - offset < 4) return undefined;
    length = (buffer[offset + 2]! << 8) | buffer[offset + 3]!;
    head = 4;
  } else if (length === 127) {
    if (buffer.length - offset < 10) return undefined;
    length = Number(new DataView(buffer.buffer, buffer.byteOffset + offset + 2, 8).getBigUint64(0));
    head = 10;
  }
  if (second & 0x80) throw new Error("A server frame must not be masked");
  const end = offset + head + length;
  return end > buffer.length
    ? undefined
    : { opcode: buffer[offset]! & 0x0f, payloadAt: offset + head, end };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
