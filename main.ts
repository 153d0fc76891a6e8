/**
 * keycast's entry point: the command line. `serve` starts the server (`src/server.ts`) and stops
 * it on SIGINT/SIGTERM; every other subcommand is a client of a running server's admin API.
 */
import { directFetch } from "./src/cli/direct_fetch.ts";
import { type CommandContext, processIo } from "./src/cli/io.ts";
import { runCli } from "./src/cli/run.ts";
import type { Config } from "./src/config/config.ts";

/**
 * `keycast serve`: runs until SIGINT or SIGTERM, then drains and exits 0 — or exits 1 once it
 * stopped by itself (see `Server.exitCode`).
 */
async function serve(config: Config, ctx: CommandContext): Promise<number> {
  // Loaded here, not at the top: the management subcommands never need the server's modules.
  const { startServer, StartupError } = await import("./src/server.ts");
  // Listening from the start: a signal during startup stops the server as soon as it is up.
  let stopping = false;
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  const stop = () => {
    stopping = true;
    void server?.shutdown();
  };
  const signals: Deno.Signal[] = Deno.build.os === "windows" ? ["SIGINT"] : ["SIGINT", "SIGTERM"];
  for (const signal of signals) Deno.addSignalListener(signal, stop);
  // `deno task start` sets this: stop when the command that started the task is gone.
  const { watchParent } = await import("./src/server/parent_watch.ts");
  using _parent = ctx.env.get("KEYCAST_EXIT_WITH_PARENT") === "1"
    ? watchParent({ onGone: stop })
    : undefined;
  try {
    server = await startServer(config);
    if (stopping) void server.shutdown();
    await server.finished;
    // 1 when the server stopped itself (it lost the PostgreSQL instance lock).
    return server.exitCode;
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    ctx.io.err(`${error.message}\n`);
    return error.exitCode;
  } finally {
    for (const signal of signals) Deno.removeSignalListener(signal, stop);
  }
}

if (import.meta.main) {
  const env = new Map(Object.entries(Deno.env.toObject()));
  // The admin token must reach the server and nothing else: never through a proxy.
  Deno.exit(await runCli({ args: Deno.args, env, io: processIo(), fetch: directFetch }, serve));
}
