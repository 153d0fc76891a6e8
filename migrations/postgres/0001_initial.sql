-- The initial data model, for PostgreSQL (its SQLite twin has the same number). Ownership of
-- keys and policies lives only on those two tables, so a team_id can be added there later.

create table keys (
  id uuid primary key,
  name text not null,
  pubkey text not null check (pubkey ~ '^[0-9a-f]{64}$'),
  -- vault-sealed secret key; the additional data is pubkey
  secret_sealed text not null,
  created_at timestamptz not null default now(),
  constraint keys_name_key unique (name),
  constraint keys_pubkey_key unique (pubkey)
);

create table policies (
  id uuid primary key,
  name text not null,
  -- the policy document: a JSON object of rules (validated by src/policy)
  rules jsonb not null check (jsonb_typeof(rules) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint policies_name_key unique (name)
);

create table authorizations (
  id uuid primary key,
  key_id uuid not null references keys (id) on delete restrict,
  policy_id uuid references policies (id) on delete restrict,
  bunker_pubkey text not null check (bunker_pubkey ~ '^[0-9a-f]{64}$'),
  -- vault-sealed bunker secret key; the additional data is bunker_pubkey
  bunker_secret_sealed text not null,
  -- sha256 (hex) of the connection secret; the secret itself is never stored
  secret_hash text not null check (secret_hash ~ '^[0-9a-f]{64}$'),
  relays jsonb not null default '[]' check (jsonb_typeof(relays) = 'array'),
  max_uses integer check (max_uses is null or max_uses > 0),
  expires_at timestamptz,
  revoked_at timestamptz,
  label text,
  created_at timestamptz not null default now(),
  constraint authorizations_bunker_pubkey_key unique (bunker_pubkey)
);

create index authorizations_key_id_idx on authorizations (key_id);
create index authorizations_policy_id_idx on authorizations (policy_id);
-- the listener loads every live authorization at start
create index authorizations_active_idx on authorizations (created_at) where revoked_at is null;

create table authorization_clients (
  authorization_id uuid not null references authorizations (id) on delete cascade,
  client_pubkey text not null check (client_pubkey ~ '^[0-9a-f]{64}$'),
  connected_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  logged_out_at timestamptz,
  -- display-only hints a client sent with connect; never grants
  requested_perms text,
  client_metadata jsonb,
  primary key (authorization_id, client_pubkey)
);

create table audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  authorization_id uuid references authorizations (id) on delete set null,
  client_pubkey text,
  method text not null,
  event_kind integer,
  event_id text,
  decision text not null check (decision in ('allow', 'deny')),
  reason text,
  latency_ms real
);

create index audit_log_authorization_at_idx on audit_log (authorization_id, at);
create index audit_log_at_idx on audit_log (at);
