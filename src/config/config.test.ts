import assert from "node:assert/strict";
import { Config, DEFAULT_RELAYS, isIpAddress } from "./config.ts";
import { pubkeyToHex } from "../nostr/pubkey.ts";
import { parseFlags } from "./flags.ts";
import { SERVE_FLAGS } from "../cli/serve_flags.ts";

const NPUB = "npub180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsyjh6w6";
const NPUB_HEX = "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d";

function configFor(args: string[], env: Record<string, string> = {}) {
  const parsed = parseFlags(args, SERVE_FLAGS);
  return { parsed, config: new Config(new Map(Object.entries(env)), parsed.values) };
}

Deno.test("Config uses documented defaults with no flags or env", () => {
  const { config } = configFor([]);
  assert.deepEqual(config.validate(), []);
  assert.deepEqual(config.relays, [...DEFAULT_RELAYS]);
  assert.equal(config.relaysDefaulted, true);
  assert.equal(config.port, 8080);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.dataDir, "./keycast-data");
  assert.equal(config.masterKeyFile, "./keycast-data/master.key");
  assert.equal(config.logLevel, "info");
  assert.equal(config.logFormat, "json");
  assert.equal(config.workers >= 1, true);
});

Deno.test("Config accepts repeated flags and comma lists alike", () => {
  const repeated =
    configFor(["--relay", "wss://a.example", "--relay", "ws://127.0.0.1:7777"]).config;
  const listed = configFor(["--relay=wss://a.example,ws://127.0.0.1:7777"]).config;
  assert.deepEqual(repeated.relays, ["wss://a.example", "ws://127.0.0.1:7777"]);
  assert.deepEqual(listed.relays, repeated.relays);
  const admins = configFor(["--admin-pubkey", NPUB, "--admin-pubkey", "A".repeat(64)]).config;
  assert.deepEqual(admins.adminPubkeys, [NPUB_HEX, "a".repeat(64)]);
});

Deno.test("Config reads env twins and lets flags win", () => {
  const env = {
    KEYCAST_RELAYS: "wss://env.example, wss://env2.example",
    PORT: "9000",
    DATABASE_URL: "postgres://u@db/keycast",
    KEYCAST_DATA_DIR: "/var/lib/keycast",
    KEYCAST_ADMIN_PUBKEYS: NPUB,
    LOG_LEVEL: "debug",
    RPC_WORKER_COUNT: "3",
    KEYCAST_MASTER_KEY: "abc",
  };
  const fromEnv = configFor([], env).config;
  assert.deepEqual(fromEnv.validate(), []);
  assert.deepEqual(fromEnv.relays, ["wss://env.example", "wss://env2.example"]);
  assert.equal(fromEnv.port, 9000);
  assert.equal(fromEnv.databaseUrl, "postgres://u@db/keycast");
  assert.equal(fromEnv.masterKeyFile, "/var/lib/keycast/master.key");
  assert.deepEqual(fromEnv.adminPubkeys, [NPUB_HEX]);
  assert.equal(fromEnv.logLevel, "debug");
  assert.equal(fromEnv.workers, 3);
  assert.equal(fromEnv.masterKeyBase64, "abc");
  const flagsWin =
    configFor(["--port", "7000", "--relay", "ws://127.0.0.1:1", "--workers", "1"], env).config;
  assert.equal(flagsWin.port, 7000);
  assert.deepEqual(flagsWin.relays, ["ws://127.0.0.1:1"]);
  assert.equal(flagsWin.workers, 1);
});

Deno.test("Config.validate() lists every problem with the flag and the value", () => {
  const { config } = configFor(
    ["--relay", "htp://x", "--port", "99999", "--admin-pubkey", "npub1nope", "--workers", "0"],
    { LOG_LEVEL: "loud", DATABASE_URL: "mysql://x" },
  );
  const problems = config.validate();
  assert.equal(problems.length, 6, problems.join("\n"));
  assert.match(problems[0]!, /--relay: cannot use relay URL "htp:\/\/x": scheme must be ws or wss/);
  assert.match(problems.join("\n"), /--port: cannot use "99999"/);
  assert.match(problems.join("\n"), /--admin-pubkey: cannot use "npub1nope"/);
  assert.match(problems.join("\n"), /--workers: cannot use "0"/);
  assert.match(problems.join("\n"), /--log-level: cannot use "loud"/);
  assert.match(problems.join("\n"), /--database-url/);
});

Deno.test("parseFlags() reports unknown flags, missing values and keeps positionals", () => {
  const parsed = parseFlags(["pos", "--port", "--nope=1", "--relay"], SERVE_FLAGS);
  assert.deepEqual(parsed.positionals, ["pos"]);
  assert.deepEqual(parsed.problems, [
    'Flag "--port" needs a value (N)',
    'Unknown flag "--nope"',
    'Flag "--relay" needs a value (URL)',
  ]);
  assert.equal(parseFlags(["--help"], SERVE_FLAGS).help, true);
});

Deno.test("pubkeyToHex() accepts hex and npub only", () => {
  assert.deepEqual(pubkeyToHex(NPUB), NPUB_HEX);
  assert.deepEqual(pubkeyToHex(NPUB_HEX.toUpperCase()), NPUB_HEX);
  assert.equal(pubkeyToHex("nsec1" + "q".repeat(58)), undefined);
  assert.equal(pubkeyToHex("abc"), undefined);
});

Deno.test("Config: --public-url without --relay is the self-contained mode, with no relays", () => {
  const config = new Config(new Map(), new Map([["public-url", "https://signer.example"]]));
  assert.deepEqual(config.validate(), []);
  assert.equal(config.selfContained, true);
  assert.equal(config.relaysDefaulted, false);
  assert.deepEqual(config.relays, []);
});

Deno.test("Config: the own relay's flags parse, default and report bad values", () => {
  const defaults = new Config(new Map());
  assert.equal(defaults.relayServer.auth, "optional");
  assert.equal(defaults.relayServer.idleTimeoutMs, 60_000);
  const set = new Config(
    new Map([["KEYCAST_RELAY_MAX_SUBSCRIPTIONS", "5"]]),
    new Map([["relay-auth", "required"], ["relay-idle-timeout", "2m"]]),
  );
  assert.equal(set.relayServer.auth, "required");
  assert.equal(set.relayServer.maxSubscriptions, 5);
  assert.equal(set.relayServer.idleTimeoutMs, 120_000);
  const bad = new Config(
    new Map(),
    new Map([["relay-auth", "always"], ["relay-max-message-bytes", "10"]]),
  );
  assert.equal(bad.validate().length, 2);
});

Deno.test("isIpAddress() takes IPv4 and IPv6 addresses and nothing else", () => {
  for (const ip of ["127.0.0.1", "10.0.0.2", "::1", "fd00::1", "::ffff:10.0.0.2"]) {
    assert.equal(isIpAddress(ip), true, ip);
  }
  for (const ip of ["1.2", "::::", "256.1.1.1", "01.2.3.4", "proxy", "10.0.0.0/8", ""]) {
    assert.equal(isIpAddress(ip), false, ip);
  }
});

Deno.test("Config: --cluster needs PostgreSQL and takes a lease of 2s to 5m", () => {
  const DATABASE = ["--database-url", "postgres://u@db/keycast"];
  const clustered = configFor(["--cluster", ...DATABASE, "--lease", "30s"]).config;
  assert.deepEqual(clustered.validate(), []);
  assert.equal(clustered.cluster, true);
  assert.equal(clustered.leaseSeconds, 30);
  const defaulted = configFor(["--cluster", ...DATABASE]).config;
  assert.deepEqual(defaulted.validate(), []);
  assert.equal(defaulted.leaseSeconds, 10);
  assert.equal(configFor([]).config.cluster, false);

  const embedded = configFor(["--cluster"]).config.validate();
  assert.equal(embedded.length, 1, embedded.join("\n"));
  assert.match(embedded[0]!, /^--cluster: needs --database-url/);

  const short = configFor(["--cluster", ...DATABASE, "--lease", "1s"]).config.validate();
  assert.equal(short.length, 1, short.join("\n"));
  assert.match(short[0]!, /^--lease: .*at least 2s/);
  const long = configFor(["--cluster", ...DATABASE, "--lease", "6m"]).config.validate();
  assert.equal(long.length, 1, long.join("\n"));
  assert.match(long[0]!, /^--lease: cannot use "6m"/);

  const alone = configFor([...DATABASE, "--lease", "30s"]).config.validate();
  assert.equal(alone.length, 1, alone.join("\n"));
  assert.match(alone[0]!, /^--lease: only a --cluster instance has a lease/);
});

Deno.test("Config: KEYCAST_CLUSTER and KEYCAST_LEASE are the env twins", () => {
  const env = { DATABASE_URL: "postgres://u@db/keycast", KEYCAST_LEASE: "20s" };
  for (const on of ["true", "1", "yes", "TRUE"]) {
    const config = configFor([], { ...env, KEYCAST_CLUSTER: on }).config;
    assert.deepEqual(config.validate(), [], on);
    assert.equal(config.cluster, true, on);
    assert.equal(config.leaseSeconds, 20, on);
  }
  const off = configFor([], { DATABASE_URL: env.DATABASE_URL, KEYCAST_CLUSTER: "false" }).config;
  assert.deepEqual(off.validate(), []);
  assert.equal(off.cluster, false);
  const maybe = configFor([], { ...env, KEYCAST_CLUSTER: "maybe" }).config.validate();
  assert.ok(
    maybe.some((problem) => /^KEYCAST_CLUSTER: cannot use "maybe"/.test(problem)),
    maybe.join("\n"),
  );
});
