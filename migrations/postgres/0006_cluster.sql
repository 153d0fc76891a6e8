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

-- The membership generation: raised, in the same transaction, by every join, leave and expiry,
-- so instances can tell whether they all serve the same assignment. One row.
create table cluster_generation (
  id integer primary key check (id = 1),
  generation bigint not null
);
insert into cluster_generation (id, generation) values (1, 0);

-- Requests answered in the cluster, so a request that reaches two instances while its bunker
-- changes hands is answered once: the instance that inserts the row answers, the other drops it.
create table request_claims (
  bunker_pubkey text not null check (bunker_pubkey ~ '^[0-9a-f]{64}$'),
  client_pubkey text not null check (length(client_pubkey) between 1 and 200),
  request_id text not null check (length(request_id) between 1 and 128),
  instance_id text not null,
  expires_at timestamptz not null,
  primary key (bunker_pubkey, client_pubkey, request_id)
);
create index request_claims_expires_at_idx on request_claims (expires_at);

-- Policy rate limits shared by the instances: one token bucket per (authorization, client) or
-- (authorization, client, method), refilled from `updated_at` when it is next charged.
create table rate_buckets (
  key text primary key check (length(key) between 1 and 400),
  tokens real not null,
  updated_at timestamptz not null
);
create index rate_buckets_updated_at_idx on rate_buckets (updated_at);
