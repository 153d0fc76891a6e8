/**
 * `keycast serve` for `bench/http_sign.ts`: the same server `main.ts serve` starts, plus a
 * stand-in for the OAuth service that resolves bench tokens `bench.<authorization id>.<bunker
 * pubkey>` into grants, so HTTP signing can be measured before real grants exist. Bench only:
 * nothing ships it. Takes the serve flags (a leading `serve` is skipped); stops on SIGTERM.
 */
import { SERVE_FLAGS } from "../../src/cli/serve_flags.ts";
import { Config } from "../../src/config/config.ts";
import { parseFlags } from "../../src/config/flags.ts";
import type { HttpGrant } from "../../src/nip46/http_signer.ts";
import { startServer } from "../../src/server.ts";

/** The origin every bench grant was issued to. */
export const BENCH_ORIGIN = "http://127.0.0.1";

/** The bench token of an authorization (what {@link resolveBenchToken} reads back). */
export function benchToken(authorizationId: string, bunkerPubkey: string): string {
  return `bench.${authorizationId}.${bunkerPubkey}`;
}

/** The grant a bench token names; undefined for anything else. */
export function resolveBenchToken(token: string): Promise<HttpGrant | undefined> {
  const match = /^bench\.([0-9a-f-]{36})\.([0-9a-f]{64})$/.exec(token);
  if (!match) return Promise.resolve(undefined);
  const [, authorizationId, bunkerPubkey] = match as unknown as [string, string, string];
  return Promise.resolve({
    grantId: `bench-${authorizationId}`,
    authorizationId,
    bunkerPubkey,
    origin: BENCH_ORIGIN,
  });
}

if (import.meta.main) {
  const args = Deno.args[0] === "serve" ? Deno.args.slice(1) : Deno.args;
  const parsed = parseFlags(args, SERVE_FLAGS);
  const config = new Config(new Map(Object.entries(Deno.env.toObject())), parsed.values);
  const problems = [...parsed.problems, ...config.validate()];
  if (problems.length > 0) throw new Error(`Cannot start serve: ${problems.join("; ")}`);
  const server = await startServer(config, {
    resolveHttpGrant: resolveBenchToken,
    allowsHttpOrigin: (origin) => Promise.resolve(origin === BENCH_ORIGIN),
  });
  Deno.addSignalListener("SIGTERM", () => void server.shutdown());
  await server.finished;
  Deno.exit(server.exitCode);
}
