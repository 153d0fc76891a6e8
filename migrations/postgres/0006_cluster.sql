-- Several keycast instances on one database (`serve --cluster`). Nothing here is secret: ids,
-- addresses, times and counters. A single instance without --cluster never writes these tables.

-- One row per live instance. An instance renews its lease every heartbeat; a row whose lease has
-- passed is dead to the others, and the first to notice deletes it. `view` is the membership
-- generation whose bunker assignment the instance serves (it acknowledges a change by raising it);
-- `leaving` is set by an instance handing its bunkers over before it stops.
create table instances (
  id text primary key check (id ~ '^[0-9a-f]{32}$'),
  address text not null check (length(address) between 1 and 300),
  version text not null check (length(version) between 1 and 64),
  started_at timestamptz not null,
  heartbeat_at timestamptz not null,
  lease_until timestamptz not null,
  view bigint not null default 0,
  leaving integer not null default 0 check (leaving in (0, 1))
);

-- One row of counters. `generation` is raised, in the same transaction, by every join, leave and
-- expiry, so instances can tell whether they all serve the same assignment. `changes` is raised
-- by every change notice (see src/cluster/bridge.ts), so an instance that missed one can tell.
create table cluster_state (
  id integer primary key check (id = 1),
  generation bigint not null,
  changes bigint not null
);
insert into cluster_state (id, generation, changes) values (1, 0, 0);

-- Requests answered in the cluster, so a request that reaches two instances is answered once:
-- the instance that inserts the row answers, another drops it. The request id is the client's
-- text, kept as its sha256 (any text, fixed size).
create table request_claims (
  bunker_pubkey text not null check (bunker_pubkey ~ '^[0-9a-f]{64}$'),
  client_pubkey text not null check (client_pubkey ~ '^[0-9a-f]{64}$'),
  request_hash text not null check (request_hash ~ '^[0-9a-f]{64}$'),
  instance_id text not null,
  expires_at timestamptz not null,
  primary key (bunker_pubkey, client_pubkey, request_hash)
);
create index request_claims_expires_at_idx on request_claims (expires_at);

-- Policy rate limits shared by the instances: one token bucket per (authorization, client) or
-- (authorization, client, method), refilled from `updated_at` when it is next charged. From
-- `full_at` on it would be full again, the same as no row: rows past it are pruned.
create table rate_buckets (
  key text primary key check (length(key) between 1 and 400),
  tokens real not null,
  updated_at timestamptz not null,
  full_at timestamptz not null
);
create index rate_buckets_full_at_idx on rate_buckets (full_at);

-- The login throttle shared by the instances: failed logins per account name (its sha256) and per
-- client address, and registrations per address, each with its last failure; from `forget_at` on
-- the row counts for nothing and is pruned. Each instance still throttles in memory first.
create table login_failures (
  key text primary key check (length(key) between 1 and 200),
  failures integer not null check (failures > 0),
  last_at timestamptz not null,
  forget_at timestamptz not null
);
create index login_failures_forget_at_idx on login_failures (forget_at);
