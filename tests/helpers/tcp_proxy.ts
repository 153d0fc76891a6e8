/**
 * A loopback TCP proxy for fault tests: it forwards `127.0.0.1:<port>` to a target address and can
 * cut the link (close every forwarded connection and reset new ones at once) and restore it, so a
 * test can make a server (e.g. PostgreSQL) unreachable for the process under test without touching
 * the server itself.
 *
 *   await using proxy = await TcpProxy.start({ hostname: "127.0.0.1", port: 5432 });
 *   // point the client at proxy.port …; proxy.cut(); …; proxy.restore();
 */

/** Where the proxy forwards to. */
export interface ProxyTarget {
  /** Target host; loopback in tests. */
  hostname: string;
  /** Target port. */
  port: number;
}

/** One forwarded connection: both sockets, and the promise of both copy loops ending. */
interface Link {
  client: Deno.TcpConn;
  server: Deno.TcpConn | undefined;
  done: Promise<void>;
}

/** A cuttable TCP forwarder listening on 127.0.0.1 and a free port. */
export class TcpProxy implements AsyncDisposable {
  /** The port the proxy listens on. */
  readonly port: number;
  /** Connections accepted since start. */
  accepted = 0;
  /** Connections refused (closed at once) while cut. */
  refused = 0;
  readonly #listener: Deno.TcpListener;
  readonly #target: ProxyTarget;
  readonly #links = new Set<Link>();
  readonly #acceptLoop: Promise<void>;
  #cut = false;
  #closed = false;

  private constructor(listener: Deno.TcpListener, target: ProxyTarget) {
    this.#listener = listener;
    this.#target = target;
    this.port = listener.addr.port;
    this.#acceptLoop = this.#accept();
  }

  /** Starts listening on 127.0.0.1, port 0 (a free one). */
  static start(target: ProxyTarget): Promise<TcpProxy> {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    return Promise.resolve(new TcpProxy(listener, target));
  }

  /** Connections currently forwarded. */
  get open(): number {
    return this.#links.size;
  }

  /** True while the link is cut. */
  get isCut(): boolean {
    return this.#cut;
  }

  /** Closes every forwarded connection and closes new ones as soon as they are accepted. */
  async cut(): Promise<void> {
    this.#cut = true;
    const links = [...this.#links];
    for (const link of links) closeLink(link);
    await Promise.all(links.map((link) => link.done));
  }

  /** Forwards new connections again. */
  restore(): void {
    this.#cut = false;
  }

  /** Stops listening, closes every connection and waits for the copy loops to end. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    await this.#acceptLoop;
    const links = [...this.#links];
    for (const link of links) closeLink(link);
    await Promise.all(links.map((link) => link.done));
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let client: Deno.TcpConn;
      try {
        client = await this.#listener.accept();
      } catch (error) {
        if (this.#closed) return; // The listener was closed on purpose.
        throw error;
      }
      this.accepted++;
      if (this.#cut || this.#closed) {
        this.refused++;
        client.close();
        continue;
      }
      const link: Link = { client, server: undefined, done: Promise.resolve() };
      link.done = this.#forward(link).finally(() => this.#links.delete(link));
      this.#links.add(link);
    }
  }

  async #forward(link: Link): Promise<void> {
    try {
      link.server = await Deno.connect({ ...this.#target, transport: "tcp" });
    } catch (_error: unknown) {
      // The target is down: the client sees its connection closed, as it would with the target.
      safeClose(link.client);
      return;
    }
    if (this.#cut || this.#closed) {
      closeLink(link);
      return;
    }
    const server = link.server;
    await Promise.all([
      pipe(link.client, server).finally(() => closeLink(link)),
      pipe(server, link.client).finally(() => closeLink(link)),
    ]);
  }
}

/** Copies `from` into `to` until either side ends or fails. */
async function pipe(from: Deno.TcpConn, to: Deno.TcpConn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    let read: number | null;
    try {
      read = await from.read(buffer);
    } catch (_error: unknown) {
      return; // Closed by cut() or reset by the peer: the link is over.
    }
    if (read === null) return;
    let written = 0;
    while (written < read) {
      try {
        written += await to.write(buffer.subarray(written, read));
      } catch (_error: unknown) {
        return; // The other side is gone.
      }
    }
  }
}

function closeLink(link: Link): void {
  safeClose(link.client);
  if (link.server) safeClose(link.server);
}

function safeClose(conn: Deno.TcpConn): void {
  try {
    conn.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error; // Already closed: fine.
  }
}
