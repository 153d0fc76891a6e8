/**
 * Server configuration: flags win over environment variables, which win over defaults.
 * Everything is parsed once; {@link Config.validate} lists every problem, one line each.
 */
import type { LogFormat, LogLevel } from "../log.ts";
import type { OAuthMode, RegistrationMode } from "../service/deps.ts";
import type { FlagValues } from "./flags.ts";
import { splitList } from "./flags.ts";
import { parseDuration } from "../domain/fields.ts";
import { pubkeyToHex } from "../nostr/pubkey.ts";
import { parseRelayUrl, RelayUrlError } from "../nostr/relay_url.ts";
import {
  DEFAULT_RELAY_SERVER_SETTINGS,
  type RelayAuthMode,
  type RelayServerSettings,
} from "../relay_server/settings.ts";

/** Relays used when neither `--relay` nor `KEYCAST_RELAYS` names any. */
export const DEFAULT_RELAYS: readonly string[] = ["wss://relay.nsec.app", "wss://relay.damus.io"];
/** Default HTTP port. */
export const DEFAULT_PORT = 8080;
/** Default HTTP bind address: loopback only (containers pass `--host 0.0.0.0` explicitly). */
export const DEFAULT_HOST = "127.0.0.1";
/** Default audit retention: 90 days, in seconds. */
export const DEFAULT_AUDIT_RETENTION_SECONDS = 90 * 86_400;
/** Default time to wait for an unreachable PostgreSQL at startup, in seconds. */
export const DEFAULT_DATABASE_WAIT_SECONDS = 30;
/** Default lease of a cluster instance, in seconds. */
export const DEFAULT_LEASE_SECONDS = 10;
/** Default data directory (embedded database, master key, admin token). */
export const DEFAULT_DATA_DIR = "./keycast-data";

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];
const LOG_FORMATS: readonly LogFormat[] = ["json", "pretty"];
const REGISTRATION_MODES: readonly RegistrationMode[] = ["closed", "invite", "open"];
const OAUTH_MODES: readonly OAuthMode[] = ["open", "registered", "off"];
const RELAY_AUTH_MODES: readonly RelayAuthMode[] = ["optional", "required"];
/** Default idle end of a web session: 7 days, in seconds. */
export const DEFAULT_SESSION_IDLE_SECONDS = 7 * 86_400;
/** Default absolute end of a web session: 30 days, in seconds. */
export const DEFAULT_SESSION_MAX_SECONDS = 30 * 86_400;

/** Environment variables read, by flag name. */
export const ENV_TWINS = {
  relay: "KEYCAST_RELAYS",
  port: "PORT",
  host: "KEYCAST_HOST",
  "database-url": "DATABASE_URL",
  "data-dir": "KEYCAST_DATA_DIR",
  "master-key-file": "KEYCAST_MASTER_KEY_FILE",
  "admin-pubkey": "KEYCAST_ADMIN_PUBKEYS",
  "log-level": "LOG_LEVEL",
  "log-format": "LOG_FORMAT",
  workers: "RPC_WORKER_COUNT",
  server: "KEYCAST_SERVER",
  "public-url": "KEYCAST_PUBLIC_URL",
  "audit-retention": "KEYCAST_AUDIT_RETENTION",
  "database-wait": "KEYCAST_DATABASE_WAIT",
  registration: "KEYCAST_REGISTRATION",
  "session-idle": "KEYCAST_SESSION_IDLE",
  "session-max": "KEYCAST_SESSION_MAX",
  "trust-proxy": "KEYCAST_TRUST_PROXY",
  cluster: "KEYCAST_CLUSTER",
  lease: "KEYCAST_LEASE",
  oauth: "KEYCAST_OAUTH",
  "oauth-access-ttl": "KEYCAST_OAUTH_ACCESS_TTL",
  "oauth-refresh-ttl": "KEYCAST_OAUTH_REFRESH_TTL",
  "relay-auth": "KEYCAST_RELAY_AUTH",
  "relay-max-connections-per-ip": "KEYCAST_RELAY_MAX_CONNECTIONS_PER_IP",
  "relay-max-subscriptions": "KEYCAST_RELAY_MAX_SUBSCRIPTIONS",
  "relay-max-message-rate": "KEYCAST_RELAY_MAX_MESSAGE_RATE",
  "relay-max-message-bytes": "KEYCAST_RELAY_MAX_MESSAGE_BYTES",
  "relay-idle-timeout": "KEYCAST_RELAY_IDLE_TIMEOUT",
  "relay-max-buffer-bytes": "KEYCAST_RELAY_MAX_BUFFER_BYTES",
} as const;

/** Validated server configuration over an injected environment and parsed flags. */
export class Config {
  readonly #problems: string[] = [];
  /** Relay URLs the listener always uses. */
  readonly relays: string[];
  /** True when {@link relays} came from {@link DEFAULT_RELAYS}. */
  readonly relaysDefaulted: boolean;
  /**
   * Self-contained mode: no `--relay` given but `--public-url` is, so keycast's own relay
   * endpoint is the only relay ({@link relays} is empty).
   */
  readonly selfContained: boolean;
  /** Settings of keycast's own relay endpoint (`--relay-…` flags). */
  readonly relayServer: RelayServerSettings;
  /** HTTP port, 1–65535; 0 asks the OS for a free port (its number is logged). Default 8080. */
  readonly port: number;
  /** HTTP bind address. Default 127.0.0.1. */
  readonly host: string;
  /**
   * The origin users reach keycast at (`https://signer.example`, behind a TLS proxy), without a
   * trailing slash; NIP-98 `u` tags must name it. Undefined: only the bound address counts.
   */
  readonly publicUrl: string | undefined;
  /** How long audit rows are kept, in seconds; null keeps them forever. Default 90 days. */
  readonly auditRetentionSeconds: number | null;
  /** How long startup waits for an unreachable PostgreSQL, in seconds. Default 30. */
  readonly databaseWaitSeconds: number;
  /** PostgreSQL URL; undefined selects the embedded SQLite database. */
  readonly databaseUrl: string | undefined;
  /** Directory for the embedded database, master key file and admin token. */
  readonly dataDir: string;
  /** Path of the master key file, used when `KEYCAST_MASTER_KEY` is unset. */
  readonly masterKeyFile: string;
  /** Base64 master key from `KEYCAST_MASTER_KEY` (env only: flags are visible in `ps`). */
  readonly masterKeyBase64: string | undefined;
  /** Admin token from `KEYCAST_ADMIN_TOKEN` (env only). */
  readonly adminToken: string | undefined;
  /** Hex pubkeys allowed to use the admin API with NIP-98. */
  readonly adminPubkeys: string[];
  /** Minimum log level. Default info. */
  readonly logLevel: LogLevel;
  /** Log line format. Default json. */
  readonly logFormat: LogFormat;
  /** Number of signing workers (`RPC_WORKER_COUNT`). Default: the number of CPUs. */
  readonly workers: number;
  /** Base URL of the running server, for management subcommands. */
  readonly server: string;
  /** Who may register an account. Default invite. */
  readonly registration: RegistrationMode;
  /** A web session ends after this long unused, in seconds. Default 7 days. */
  readonly sessionIdleSeconds: number;
  /** A web session ends this long after login, in seconds. Default 30 days. */
  readonly sessionMaxSeconds: number;
  /** Reverse proxies whose `X-Forwarded-For` names the client (IP addresses). */
  readonly trustedProxies: string[];
  /** Which apps may use OAuth. Default open, or off when registration is closed. */
  readonly oauth: OAuthMode;
  /** Lifetime of an OAuth access token, in seconds. Default 1 hour. */
  readonly oauthAccessTtlSeconds: number;
  /** Lifetime of an OAuth refresh token, in seconds. Default 30 days. */
  readonly oauthRefreshTtlSeconds: number;
  /** Run as one of several instances on one PostgreSQL database (`--cluster`). */
  readonly cluster: boolean;
  /** A cluster instance's lease, in seconds: how long it stays owner without renewing. */
  readonly leaseSeconds: number;

  constructor(env: ReadonlyMap<string, string>, flags: FlagValues = new Map()) {
    const pick = (name: keyof typeof ENV_TWINS): string | undefined => {
      const flag = flags.get(name);
      if (typeof flag === "string") return flag;
      if (Array.isArray(flag)) return flag.join(",");
      const fromEnv = env.get(ENV_TWINS[name]);
      return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
    };
    const list = (name: keyof typeof ENV_TWINS): string[] => splitList(pick(name) ?? "");

    const relays = new Set<string>();
    for (const relay of list("relay")) {
      try {
        relays.add(parseRelayUrl(relay));
      } catch (error: unknown) {
        if (!(error instanceof RelayUrlError)) throw error;
        this.#problems.push(`--relay: cannot use relay URL "${relay}": ${error.problem}`);
      }
    }
    this.port = this.#integer("port", pick("port"), DEFAULT_PORT, 0, 65535);
    this.host = pick("host") ?? DEFAULT_HOST;
    this.publicUrl = this.#publicUrl(pick("public-url"));
    const noRelay = list("relay").length === 0;
    this.selfContained = noRelay && this.publicUrl !== undefined;
    this.relaysDefaulted = noRelay && !this.selfContained;
    this.relays = this.relaysDefaulted ? [...DEFAULT_RELAYS] : [...relays];
    this.relayServer = this.#relayServer(pick);
    this.auditRetentionSeconds = this.#retention(pick("audit-retention"));
    this.databaseWaitSeconds = this.#duration(
      "database-wait",
      pick("database-wait"),
      DEFAULT_DATABASE_WAIT_SECONDS,
      600,
    );
    this.databaseUrl = pick("database-url");
    if (this.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(this.databaseUrl)) {
      this.#problems.push(
        "--database-url: cannot use the database URL: it must start with postgres:// or postgresql://",
      );
    }
    this.dataDir = pick("data-dir") ?? DEFAULT_DATA_DIR;
    this.masterKeyFile = pick("master-key-file") ?? `${this.dataDir}/master.key`;
    this.masterKeyBase64 = env.get("KEYCAST_MASTER_KEY") || undefined;
    this.adminToken = env.get("KEYCAST_ADMIN_TOKEN") || undefined;

    this.adminPubkeys = [];
    for (const value of list("admin-pubkey")) {
      const hex = pubkeyToHex(value);
      if (hex) this.adminPubkeys.push(hex);
      else {
        this.#problems.push(
          `--admin-pubkey: cannot use "${value}": it must be a 64-character hex pubkey or an npub`,
        );
      }
    }

    this.logLevel = this.#oneOf("log-level", pick("log-level"), LOG_LEVELS, "info");
    this.logFormat = this.#oneOf("log-format", pick("log-format"), LOG_FORMATS, "json");
    this.workers = this.#integer(
      "workers",
      pick("workers"),
      Math.max(1, navigator.hardwareConcurrency || 1),
      1,
      1024,
    );
    this.registration = this.#oneOf(
      "registration",
      pick("registration"),
      REGISTRATION_MODES,
      "invite",
    );
    this.sessionIdleSeconds = this.#duration(
      "session-idle",
      pick("session-idle"),
      DEFAULT_SESSION_IDLE_SECONDS,
      365 * 86_400,
    );
    this.sessionMaxSeconds = this.#duration(
      "session-max",
      pick("session-max"),
      DEFAULT_SESSION_MAX_SECONDS,
      365 * 86_400,
    );
    if (this.sessionIdleSeconds < 60 || this.sessionMaxSeconds < 60) {
      this.#problems.push("--session-idle, --session-max: sessions must last at least 1m");
    }
    this.oauth = this.#oneOf(
      "oauth",
      pick("oauth"),
      OAUTH_MODES,
      this.registration === "closed" ? "off" : "open",
    );
    this.oauthAccessTtlSeconds = this.#duration(
      "oauth-access-ttl",
      pick("oauth-access-ttl"),
      3_600,
      86_400,
    );
    this.oauthRefreshTtlSeconds = this.#duration(
      "oauth-refresh-ttl",
      pick("oauth-refresh-ttl"),
      30 * 86_400,
      365 * 86_400,
    );
    if (this.oauthAccessTtlSeconds < 60 || this.oauthRefreshTtlSeconds < 60) {
      this.#problems.push("--oauth-access-ttl, --oauth-refresh-ttl: tokens must last at least 1m");
    }
    this.cluster = this.#switch("cluster", flags, env);
    this.leaseSeconds = this.#duration("lease", pick("lease"), DEFAULT_LEASE_SECONDS, 300);
    if (this.leaseSeconds < 2) this.#problems.push("--lease: give a lease of at least 2s");
    if (this.cluster && this.databaseUrl === undefined) {
      this.#problems.push(
        "--cluster: needs --database-url (PostgreSQL): the embedded database serves one instance",
      );
    }
    if (!this.cluster && pick("lease") !== undefined) {
      this.#problems.push("--lease: only a --cluster instance has a lease");
    }
    this.trustedProxies = list("trust-proxy");
    for (const proxy of this.trustedProxies) {
      if (!isIpAddress(proxy)) {
        this.#problems.push(`--trust-proxy: cannot use "${proxy}": give the proxy's IP address`);
      }
    }
    this.server = (pick("server") ?? `http://127.0.0.1:${DEFAULT_PORT}`).replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+/.test(this.server)) {
      this.#problems.push(`--server: cannot use "${this.server}": it must be an http(s) URL`);
    }
  }

  /** Every configuration problem, one line each, naming the flag and the value. */
  validate(): string[] {
    return [...this.#problems];
  }

  /** A switch: the flag, or its environment twin set to true/1/yes (false/0/no/empty: off). */
  #switch(name: keyof typeof ENV_TWINS, flags: FlagValues, env: ReadonlyMap<string, string>) {
    if (flags.get(name) === true) return true;
    const raw = (env.get(ENV_TWINS[name]) ?? "").trim().toLowerCase();
    if (["", "0", "false", "no"].includes(raw)) return false;
    if (["1", "true", "yes"].includes(raw)) return true;
    this.#problems.push(`${ENV_TWINS[name]}: cannot use "${raw}": give true or false`);
    return false;
  }

  #publicUrl(raw: string | undefined): string | undefined {
    if (raw === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(raw);
    } catch (_error: unknown) {
      this.#problems.push(`--public-url: cannot use "${raw}": it is not a URL`);
      return undefined;
    }
    const problem = url.protocol !== "https:" && url.protocol !== "http:"
      ? "the scheme must be https or http"
      : url.username || url.password
      ? "it must not carry credentials"
      : url.pathname !== "/" || url.search || url.hash
      ? "give the origin only (scheme, host and port), without a path or query"
      : undefined;
    if (problem) {
      this.#problems.push(`--public-url: cannot use "${raw}": ${problem}`);
      return undefined;
    }
    return url.origin;
  }

  #relayServer(pick: (name: keyof typeof ENV_TWINS) => string | undefined): RelayServerSettings {
    const d = DEFAULT_RELAY_SERVER_SETTINGS;
    const int = (name: keyof typeof ENV_TWINS, fallback: number, min: number, max: number) =>
      this.#integer(name, pick(name), fallback, min, max);
    const idle = this.#duration("relay-idle-timeout", pick("relay-idle-timeout"), -1, 86_400);
    if (idle === 0) this.#problems.push("--relay-idle-timeout: give a duration of at least 1s");
    return {
      auth: this.#oneOf("relay-auth", pick("relay-auth"), RELAY_AUTH_MODES, d.auth),
      maxConnectionsPerIp: int("relay-max-connections-per-ip", d.maxConnectionsPerIp, 1, 100_000),
      maxSubscriptions: int("relay-max-subscriptions", d.maxSubscriptions, 1, 1_000),
      maxMessagesPerSecond: int("relay-max-message-rate", d.maxMessagesPerSecond, 1, 10_000),
      maxMessageBytes: int("relay-max-message-bytes", d.maxMessageBytes, 1_024, 16_777_216),
      idleTimeoutMs: idle > 0 ? idle * 1000 : d.idleTimeoutMs,
      maxBufferedBytes: int("relay-max-buffer-bytes", d.maxBufferedBytes, 65_536, 1_073_741_824),
    };
  }

  #retention(raw: string | undefined): number | null {
    if (raw === undefined) return DEFAULT_AUDIT_RETENTION_SECONDS;
    if (/^\s*(0|forever)\s*$/i.test(raw)) return null;
    const seconds = parseDuration(raw);
    if (seconds === undefined || seconds < 3600) {
      this.#problems.push(
        `--audit-retention: cannot use "${raw}": give a duration of at least 1h (like 90d), ` +
          "or 0 to keep audit rows forever",
      );
      return DEFAULT_AUDIT_RETENTION_SECONDS;
    }
    return seconds;
  }

  #duration(name: string, raw: string | undefined, fallback: number, maxSeconds: number) {
    if (raw === undefined) return fallback;
    if (/^\s*0\s*$/.test(raw)) return 0;
    const seconds = parseDuration(raw);
    if (seconds === undefined || seconds > maxSeconds) {
      this.#problems.push(
        `--${name}: cannot use "${raw}": give a duration from 0 to ${maxSeconds} s (like 30s, 2m)`,
      );
      return fallback;
    }
    return seconds;
  }

  #integer(name: string, raw: string | undefined, fallback: number, min: number, max: number) {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
      this.#problems.push(
        `--${name}: cannot use "${raw}": it must be a whole number from ${min} to ${max}`,
      );
      return fallback;
    }
    return value;
  }

  #oneOf<T extends string>(
    name: string,
    raw: string | undefined,
    allowed: readonly T[],
    fallback: T,
  ): T {
    if (raw === undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.#problems.push(`--${name}: cannot use "${raw}": it must be one of ${allowed.join(", ")}`);
    return fallback;
  }
}

/** Whether `value` is an IPv4 address in dotted form or an IPv6 address (no brackets, no zone). */
export function isIpAddress(value: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value);
  if (v4) return v4.slice(1).every((part) => Number(part) <= 255 && String(Number(part)) === part);
  if (!value.includes(":") || !/^[0-9a-fA-F:.]{2,45}$/.test(value)) return false;
  try {
    return new URL(`http://[${value}]/`).hostname !== "";
  } catch (_error: unknown) {
    return false;
  }
}
