/** Flags of keycast's own relay endpoint (`GET /<bunker pubkey>` over WebSocket), for `serve`. */
import { ENV_TWINS } from "../config/config.ts";
import type { FlagSpec } from "../config/flags.ts";
import { DEFAULT_RELAY_SERVER_SETTINGS as D } from "../relay_server/settings.ts";

/** The `--relay-…` flags of `keycast serve`. */
export const RELAY_SERVER_FLAGS: FlagSpec[] = [
  {
    name: "relay-auth",
    env: ENV_TWINS["relay-auth"],
    value: "MODE",
    help: "Own relay: NIP-42 before EVENT and REQ, required or optional. Default optional",
  },
  {
    name: "relay-max-connections-per-ip",
    env: ENV_TWINS["relay-max-connections-per-ip"],
    value: "N",
    help: `Own relay: open connections per client address. Default ${D.maxConnectionsPerIp}`,
  },
  {
    name: "relay-max-subscriptions",
    env: ENV_TWINS["relay-max-subscriptions"],
    value: "N",
    help: `Own relay: subscriptions per connection. Default ${D.maxSubscriptions}`,
  },
  {
    name: "relay-max-message-rate",
    env: ENV_TWINS["relay-max-message-rate"],
    value: "N",
    help:
      `Own relay: messages per second per connection (bursts of twice that). Default ${D.maxMessagesPerSecond}`,
  },
  {
    name: "relay-max-message-bytes",
    env: ENV_TWINS["relay-max-message-bytes"],
    value: "N",
    help: `Own relay: largest message, in bytes. Default ${D.maxMessageBytes}`,
  },
  {
    name: "relay-idle-timeout",
    env: ENV_TWINS["relay-idle-timeout"],
    value: "DURATION",
    help: `Own relay: close a connection with no subscription after this long silent. Default ${
      D.idleTimeoutMs / 1000
    }s`,
  },
  {
    name: "relay-max-buffer-bytes",
    env: ENV_TWINS["relay-max-buffer-bytes"],
    value: "N",
    help:
      `Own relay: drop a client that leaves this many bytes unread. Default ${D.maxBufferedBytes}`,
  },
];
