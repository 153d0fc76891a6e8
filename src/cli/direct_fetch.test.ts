import assert from "node:assert/strict";

const MODULE = new URL("./direct_fetch.ts", import.meta.url).href;
const MAIN = new URL("../../main.ts", import.meta.url).href;

/** A TCP listener standing in for a proxy: counts the connections it gets and closes them. */
function fakeProxy(): { url: string; hits: () => number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let hits = 0;
  (async () => {
    for await (const connection of listener) {
      hits++;
      connection.close();
    }
  })().catch(() => {}); // ends when the listener closes
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    hits: () => hits,
    [Symbol.dispose]: () => listener.close(),
  };
}

/**
 * Runs a child Deno (`args`, e.g. `eval` and code) with every proxy variable pointing at `proxy`
 * (the variables are the child's: this process and its other tests keep their own) and returns
 * what it printed.
 */
async function runWithProxy(
  proxy: string,
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<string> {
  const env: Record<string, string> = { NO_PROXY: "example.invalid", ...extraEnv };
  for (const name of ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"]) {
    env[name] = proxy;
  }
  for (const name of ["HOME", "DENO_DIR", "PATH", "TMPDIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  return new TextDecoder().decode(output.stdout).trim();
}

Deno.test("directFetch() reaches the server directly whatever the proxy variables say", async () => {
  using proxy = fakeProxy();
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => new Response(`direct ${request.headers.get("authorization")}`),
  );
  const port = server.addr.port;
  const printed = await runWithProxy(proxy.url, [
    "eval",
    "--ext=ts",
    `
    import { directFetch } from "${MODULE}";
    const results = [];
    for (const host of ["127.0.0.1", "localhost"]) {
      const response = await directFetch("http://" + host + ":${port}/api/keys", {
        headers: { authorization: "Bearer token" },
      });
      results.push(await response.text());
    }
    // https: the TLS handshake fails against this plain server, but it fails there, directly.
    await directFetch("https://localhost:${port}/").catch(() => {});
    await directFetch("https://127.0.0.1:${port}/").catch(() => {});
    results.push(Deno.env.get("NO_PROXY"), String(Deno.env.get("no_proxy")));
    console.log(JSON.stringify(results));
    `,
  ]);
  assert.deepEqual(JSON.parse(printed), [
    "direct Bearer token",
    "direct Bearer token",
    "example.invalid",
    "undefined",
  ]);
  assert.equal(proxy.hits(), 0, "no connection went to the proxy");

  // The control: plain fetch in the same environment does go to the proxy.
  await runWithProxy(proxy.url, [
    "eval",
    `await fetch("http://127.0.0.1:${port}/").then((r) => r.text()).catch(() => {});`,
  ]);
  assert.ok(proxy.hits() > 0, "the child's fetch honoured the proxy variables");
});

Deno.test("keycast's management commands never send the admin token to a proxy", async () => {
  using proxy = fakeProxy();
  const seen: string[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      seen.push(`${new URL(request.url).pathname} ${request.headers.get("authorization")}`);
      return Response.json({ keys: [] });
    },
  );
  const printed = await runWithProxy(
    proxy.url,
    ["run", "-A", MAIN, "keys", "list", "--server", `http://localhost:${server.addr.port}`],
    { KEYCAST_ADMIN_TOKEN: "kc_admin_test_token_0123456789abcdef" },
  );
  assert.equal(printed, ""); // no keys: the hint goes to stderr
  assert.deepEqual(seen, ["/api/keys Bearer kc_admin_test_token_0123456789abcdef"]);
  assert.equal(proxy.hits(), 0);
});
