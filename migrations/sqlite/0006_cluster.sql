-- Several keycast instances on one database (`serve --cluster`) need PostgreSQL; the embedded
-- database serves one instance. These tables exist here only so both engines keep one schema
-- (see migrations/postgres/0006_cluster.sql for what each holds); nothing writes them.

create table instances (
  id text primary key not null check (length(id) = 32 and id not glob '*[^0-9a-f]*'),
  address text not null check (length(address) between 1 and 300),
  version text not null check (length(version) between 1 and 64),
  started_at integer not null,
  heartbeat_at integer not null,
  lease_until integer not null,
  view integer not null default 0,
  leaving integer not null default 0 check (leaving in (0, 1))
) strict;

create table cluster_state (
  id integer primary key not null check (id = 1),
  generation integer not null,
  changes integer not null
) strict;
insert into cluster_state (id, generation, changes) values (1, 0, 0);

create table request_claims (
  bunker_pubkey text not null
    check (length(bunker_pubkey) = 64 and bunker_pubkey not glob '*[^0-9a-f]*'),
  client_pubkey text not null
    check (length(client_pubkey) = 64 and client_pubkey not glob '*[^0-9a-f]*'),
  request_hash text not null
    check (length(request_hash) = 64 and request_hash not glob '*[^0-9a-f]*'),
  instance_id text not null,
  expires_at integer not null,
  primary key (bunker_pubkey, client_pubkey, request_hash)
) strict;
create index request_claims_expires_at_idx on request_claims (expires_at);

create table rate_buckets (
  key text primary key not null check (length(key) between 1 and 400),
  tokens real not null,
  updated_at integer not null,
  full_at integer not null
) strict;
create index rate_buckets_full_at_idx on rate_buckets (full_at);

create table login_failures (
  key text primary key not null check (length(key) between 1 and 200),
  failures integer not null check (failures > 0),
  last_at integer not null,
  forget_at integer not null
) strict;
create index login_failures_forget_at_idx on login_failures (forget_at);
