-- People: accounts that log in with a password, their browser sessions, the invites that let
-- them register, and what happened to each account. A key may belong to an account (a person's
-- key) or to none (the operator's); names are unique per owner.

create table accounts (
  id uuid primary key,
  -- lowercase; the login name
  username text not null check (username ~ '^[a-z0-9][a-z0-9._-]{2,31}$'),
  email text,
  -- PHC string: $scrypt$ln=..,r=..,p=..$salt$hash
  password_hash text not null,
  role text not null default 'user' check (role in ('user', 'admin')),
  disabled_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint accounts_username_key unique (username),
  constraint accounts_email_key unique (email)
);

create table sessions (
  -- sha256 (hex) of the session id in the cookie; the id itself is never stored
  id_hash text primary key check (id_hash ~ '^[0-9a-f]{64}$'),
  account_id uuid not null references accounts (id) on delete cascade,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  -- the absolute end, however active the session is
  expires_at timestamptz not null,
  user_agent text
);

create index sessions_account_id_idx on sessions (account_id);
create index sessions_expires_at_idx on sessions (expires_at);

create table invites (
  id uuid primary key,
  -- sha256 (hex) of the invite code; the code itself is shown once
  code_hash text not null check (code_hash ~ '^[0-9a-f]{64}$'),
  role text not null default 'user' check (role in ('user', 'admin')),
  created_by uuid references accounts (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz,
  used_by uuid references accounts (id) on delete set null,
  constraint invites_code_hash_key unique (code_hash)
);

create table account_events (
  id bigint generated always as identity primary key,
  account_id uuid not null references accounts (id) on delete cascade,
  at timestamptz not null default now(),
  -- login, login_failed, logout, register, password_changed, key_exported, ...
  action text not null,
  detail text,
  ip text
);

create index account_events_account_at_idx on account_events (account_id, at);
create index account_events_at_idx on account_events (at);

alter table keys add column account_id uuid references accounts (id) on delete restrict;
alter table keys drop constraint keys_name_key;
create unique index keys_operator_name_key on keys (name) where account_id is null;
create unique index keys_account_name_key on keys (account_id, name) where account_id is not null;
