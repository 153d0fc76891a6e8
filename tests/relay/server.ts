/**
 * Network side of the test relay: one node:http server on one port. WebSocket upgrades on any
 * path become relay clients; plain HTTP requests under `/control/` flip the fault switches.
 *
 * `npm:ws` serves the sockets rather than `Deno.upgradeWebSocket` because it can `terminate()` a
 * socket without a close handshake, which is what `/control/drop` must simulate. Both set
 * TCP_NODELAY on server sockets: measured on loopback, 2 KiB forwarded from one `ws` client to
 * another took p50 0.20 ms through Deno.serve and 0.17 ms through `ws` (no ~40 ms Nagle stalls).
 */
import { Buffer } from "node:buffer";
import http from "node:http";
// @ts-types="@types/ws"
import { type RawData, WebSocketServer } from "ws";
import { Relay } from "./core.ts";
import type { RelayOptions } from "./options.ts";

/** Where and how to run a relay server. */
export interface RelayServerOptions extends RelayOptions {
  /** TCP port; 0 picks a free one. Default 0. */
  port?: number;
  /** Address to listen on. Default "127.0.0.1". */
  host?: string;
}

/** A listening relay server. */
export interface RelayServer {
  /** The port actually bound. */
  readonly port: number;
  /** The relay behind the server. */
  readonly relay: Relay;
  /** Drops all clients and stops listening. */
  close(): Promise<void>;
}

/** Longest accepted fault duration (refuse, delay), in ms. */
const MAX_FAULT_MS = 600_000;

/** Starts listening; resolves once the port is bound. */
export async function startRelayServer(options: RelayServerOptions = {}): Promise<RelayServer> {
  const relay = new Relay(options);
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4 * relay.maxMessageBytes });
  const server = http.createServer((req, res) => {
    const { status, body } = control(relay, req.method ?? "GET", req.url ?? "/");
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  server.on("upgrade", (req, socket, head) => {
    if (relay.refusing) {
      socket.end(
        "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
      );
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = relay.connect(ws, req.headers.host ?? "");
      ws.on("message", (data, isBinary) => {
        relay.handleMessage(connection, isBinary ? null : toBytes(data));
      });
      ws.on("close", () => relay.disconnect(connection));
      ws.on("error", () => ws.terminate());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    relay,
    close: async () => {
      relay.drop();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Answers one plain HTTP request: the control API, or NIP-11 style info at `/`. */
function control(relay: Relay, method: string, rawUrl: string): { status: number; body: unknown } {
  const url = new URL(rawUrl, "http://relay");
  const route = `${method} ${url.pathname}`;
  const ms = () => faultMs(url.searchParams.get("ms"));
  switch (route) {
    case "GET /":
      return { status: 200, body: { name: "keycast test relay", supported_nips: [1, 42] } };
    case "GET /control/stats":
      return { status: 200, body: relay.stats() };
    case "POST /control/drop":
      return { status: 200, body: { dropped: relay.drop() } };
    case "POST /control/refuse":
    case "POST /control/delay": {
      const value = ms();
      if (value === undefined) {
        const raw = url.searchParams.get("ms");
        return badRequest(`ms "${raw}" must be an integer from 0 to ${MAX_FAULT_MS}`);
      }
      if (route === "POST /control/refuse") relay.refuse(value);
      else relay.delay(value);
      return { status: 200, body: { ms: value } };
    }
    case "POST /control/auth": {
      const required = url.searchParams.get("required");
      if (required !== "1" && required !== "0") {
        return badRequest(`required "${required}" must be 1 or 0`);
      }
      relay.setAuthRequired(required === "1");
      return { status: 200, body: { required: required === "1" } };
    }
  }
  return { status: 404, body: { error: `No control route "${route}"` } };
}

function faultMs(value: string | null): number | undefined {
  const ms = Number(value);
  return value && Number.isInteger(ms) && ms >= 0 && ms <= MAX_FAULT_MS ? ms : undefined;
}

function badRequest(reason: string): { status: number; body: unknown } {
  return { status: 400, body: { error: `Cannot apply control request: ${reason}` } };
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  return data instanceof ArrayBuffer ? new Uint8Array(data) : data;
}
