/** Flags of `keycast serve` and `keycast migrate`, each with its environment twin. */
import {
  DEFAULT_DATA_DIR,
  DEFAULT_HOST,
  DEFAULT_LEASE_SECONDS,
  DEFAULT_PORT,
  DEFAULT_RELAYS,
  ENV_TWINS,
} from "../config/config.ts";
import type { FlagSpec } from "../config/flags.ts";
import { RELAY_SERVER_FLAGS } from "./relay_server_flags.ts";

/** Flags that locate the database (shared by `serve` and `migrate`). */
export const DATABASE_FLAGS: FlagSpec[] = [
  {
    name: "database-url",
    env: ENV_TWINS["database-url"],
    value: "URL",
    help: "PostgreSQL URL; unset = embedded SQLite in <data-dir>/keycast.db",
  },
  {
    name: "data-dir",
    env: ENV_TWINS["data-dir"],
    value: "DIR",
    help:
      `Data directory (embedded database, master.key, admin.token). Default ${DEFAULT_DATA_DIR}`,
  },
  {
    name: "master-key-file",
    env: ENV_TWINS["master-key-file"],
    value: "PATH",
    help: "Master key file (mode 0600). Default <data-dir>/master.key; KEYCAST_MASTER_KEY wins",
  },
  {
    name: "log-level",
    env: ENV_TWINS["log-level"],
    value: "LEVEL",
    help: "debug, info, warn or error. Default info",
  },
  {
    name: "log-format",
    env: ENV_TWINS["log-format"],
    value: "FORMAT",
    help: "json (default) or pretty",
  },
];

/** Flags of `keycast serve`. */
export const SERVE_FLAGS: FlagSpec[] = [
  {
    name: "relay",
    env: ENV_TWINS.relay,
    multiple: true,
    value: "URL",
    help: `Relay to listen and answer on (ws:// or wss://). Default ${
      DEFAULT_RELAYS.join(", ")
    }; none when --public-url is set (keycast's own relay only)`,
  },
  {
    name: "port",
    env: ENV_TWINS.port,
    value: "N",
    help: `HTTP port (0: any free port, logged). Default ${DEFAULT_PORT}`,
  },
  {
    name: "host",
    env: ENV_TWINS.host,
    value: "ADDR",
    help: `HTTP bind address. Default ${DEFAULT_HOST} (loopback only; 0.0.0.0 for every address)`,
  },
  ...DATABASE_FLAGS,
  {
    name: "admin-pubkey",
    env: ENV_TWINS["admin-pubkey"],
    multiple: true,
    value: "HEX|NPUB",
    help: "Pubkey allowed to use the admin API with NIP-98",
  },
  {
    name: "workers",
    env: ENV_TWINS.workers,
    value: "N",
    help: "Signing workers. Default: the number of CPUs",
  },
  {
    name: "public-url",
    env: ENV_TWINS["public-url"],
    value: "URL",
    help: "Origin users reach keycast at, e.g. https://signer.example (NIP-98 u tags name it)",
  },
  {
    name: "audit-retention",
    env: ENV_TWINS["audit-retention"],
    value: "DURATION",
    help: "How long audit rows are kept (1h or more, like 90d; 0 keeps them). Default 90d",
  },
  {
    name: "registration",
    env: ENV_TWINS.registration,
    value: "MODE",
    help: "Who may create an account: closed, invite (an invite code) or open. Default invite",
  },
  {
    name: "session-idle",
    env: ENV_TWINS["session-idle"],
    value: "DURATION",
    help: "A web login ends after this long unused. Default 7d",
  },
  {
    name: "session-max",
    env: ENV_TWINS["session-max"],
    value: "DURATION",
    help: "A web login ends this long after it started, however active. Default 30d",
  },
  {
    name: "oauth",
    env: ENV_TWINS.oauth,
    value: "MODE",
    help: "Which web apps may use OAuth: open, registered (clients an admin added) or off. " +
      "Default open (off when registration is closed)",
  },
  {
    name: "oauth-access-ttl",
    env: ENV_TWINS["oauth-access-ttl"],
    value: "DURATION",
    help: "Lifetime of an OAuth access token (1m to 1d). Default 1h",
  },
  {
    name: "oauth-refresh-ttl",
    env: ENV_TWINS["oauth-refresh-ttl"],
    value: "DURATION",
    help: "Lifetime of an OAuth refresh token (1m to 365d). Default 30d",
  },
  {
    name: "trust-proxy",
    env: ENV_TWINS["trust-proxy"],
    multiple: true,
    value: "IP",
    help: "Reverse proxy whose X-Forwarded-For names the client (for login throttling)",
  },
  {
    name: "database-wait",
    env: ENV_TWINS["database-wait"],
    value: "DURATION",
    help: "How long to wait at start for an unreachable PostgreSQL (at most 10m). Default 30s",
  },
  {
    name: "cluster",
    env: ENV_TWINS.cluster,
    boolean: true,
    help: "Run as one of several instances on one PostgreSQL database (every instance needs it)",
  },
  {
    name: "lease",
    env: ENV_TWINS.lease,
    value: "DURATION",
    help: `With --cluster: how long a silent instance keeps its bunkers before the others take ` +
      `them (2s to 5m). Default ${DEFAULT_LEASE_SECONDS}s`,
  },
  ...RELAY_SERVER_FLAGS,
];
