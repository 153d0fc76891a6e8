/** Decoding relay frames: size cap before parsing, JSON array with a string type, or a reason. */
import { Buffer } from "node:buffer";
// @ts-types="@types/ws"
import type WebSocket from "ws";

/** A decoded relay message, or why the frame was dropped. */
export type Decoded =
  | { ok: true; message: unknown[] }
  | { ok: false; reason: string; bytes: number };

/** Decodes one WebSocket frame from a relay; never throws. */
export function decodeFrame(data: WebSocket.RawData, isBinary: boolean, maxBytes: number): Decoded {
  const bytes = Array.isArray(data) ? data.reduce((n, b) => n + b.byteLength, 0) : data.byteLength;
  if (isBinary) return { ok: false, reason: "binary frame", bytes };
  if (bytes > maxBytes) return { ok: false, reason: `larger than ${maxBytes} bytes`, bytes };
  const text = Array.isArray(data)
    ? Buffer.concat(data).toString("utf8")
    : Buffer.isBuffer(data)
    ? data.toString("utf8")
    : Buffer.from(data).toString("utf8");
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch (_error: unknown) {
    return { ok: false, reason: "invalid JSON", bytes };
  }
  if (!Array.isArray(message) || typeof message[0] !== "string") {
    return { ok: false, reason: "not an array starting with a message type", bytes };
  }
  return { ok: true, message };
}
