-- The initial data model, for SQLite (the PostgreSQL file of the same number is its twin; a test
-- checks that both end with the same tables, columns, constraints and indexes). Tables are
-- STRICT; uuids and JSON are text, timestamps integer Unix milliseconds, and every check
-- PostgreSQL makes through its types is spelled out.

create table keys (
  id text primary key not null check (length(id) = 36),
  name text not null,
  pubkey text not null check (length(pubkey) = 64 and pubkey not glob '*[^0-9a-f]*'),
  -- vault-sealed secret key; the additional data is pubkey
  secret_sealed text not null,
  created_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  constraint keys_name_key unique (name),
  constraint keys_pubkey_key unique (pubkey)
) strict;

create table policies (
  id text primary key not null check (length(id) = 36),
  name text not null,
  -- the policy document: a JSON object of rules (validated by src/policy)
  rules text not null check (json_valid(rules) and json_type(rules) = 'object'),
  created_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  updated_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  constraint policies_name_key unique (name)
) strict;

create table authorizations (
  id text primary key not null check (length(id) = 36),
  key_id text not null references keys (id) on delete restrict,
  policy_id text references policies (id) on delete restrict,
  bunker_pubkey text not null
    check (length(bunker_pubkey) = 64 and bunker_pubkey not glob '*[^0-9a-f]*'),
  -- vault-sealed bunker secret key; the additional data is bunker_pubkey
  bunker_secret_sealed text not null,
  -- sha256 (hex) of the connection secret; the secret itself is never stored
  secret_hash text not null
    check (length(secret_hash) = 64 and secret_hash not glob '*[^0-9a-f]*'),
  relays text not null default '[]' check (json_valid(relays) and json_type(relays) = 'array'),
  max_uses integer check (max_uses is null or max_uses > 0),
  expires_at integer,
  revoked_at integer,
  label text,
  created_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  constraint authorizations_bunker_pubkey_key unique (bunker_pubkey)
) strict;

create index authorizations_key_id_idx on authorizations (key_id);
create index authorizations_policy_id_idx on authorizations (policy_id);
-- the listener loads every live authorization at start
create index authorizations_active_idx on authorizations (created_at) where revoked_at is null;

create table authorization_clients (
  authorization_id text not null references authorizations (id) on delete cascade,
  client_pubkey text not null
    check (length(client_pubkey) = 64 and client_pubkey not glob '*[^0-9a-f]*'),
  connected_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  last_seen_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  logged_out_at integer,
  -- display-only hints a client sent with connect; never grants
  requested_perms text,
  client_metadata text check (client_metadata is null or json_valid(client_metadata)),
  primary key (authorization_id, client_pubkey)
) strict;

create table audit_log (
  id integer primary key autoincrement,
  at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  authorization_id text references authorizations (id) on delete set null,
  client_pubkey text,
  method text not null,
  event_kind integer,
  event_id text,
  decision text not null check (decision in ('allow', 'deny')),
  reason text,
  latency_ms real
) strict;

create index audit_log_authorization_at_idx on audit_log (authorization_id, at);
create index audit_log_at_idx on audit_log (at);
