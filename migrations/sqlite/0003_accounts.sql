-- keycast: foreign-keys off
-- (The twin of the PostgreSQL file of the same number. SQLite cannot drop the unique constraint
-- on keys.name, so keys is rebuilt, which needs foreign keys off while it runs: the migrator
-- turns them off, checks every reference before the commit, and turns them on again.)

create table accounts (
  id text primary key not null check (length(id) = 36),
  -- lowercase; the login name
  username text not null
    check (length(username) between 3 and 32 and username not glob '*[^a-z0-9._-]*'
      and substr(username, 1, 1) glob '[a-z0-9]'),
  email text,
  -- PHC string: $scrypt$ln=..,r=..,p=..$salt$hash
  password_hash text not null,
  role text not null default 'user' check (role in ('user', 'admin')),
  disabled_at integer,
  created_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  updated_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  constraint accounts_username_key unique (username),
  constraint accounts_email_key unique (email)
) strict;

create table sessions (
  -- sha256 (hex) of the session id in the cookie; the id itself is never stored
  id_hash text primary key not null
    check (length(id_hash) = 64 and id_hash not glob '*[^0-9a-f]*'),
  account_id text not null references accounts (id) on delete cascade,
  created_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  last_seen_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  -- the absolute end, however active the session is
  expires_at integer not null,
  user_agent text
) strict;

create index sessions_account_id_idx on sessions (account_id);
create index sessions_expires_at_idx on sessions (expires_at);

create table invites (
  id text primary key not null check (length(id) = 36),
  -- sha256 (hex) of the invite code; the code itself is shown once
  code_hash text not null check (length(code_hash) = 64 and code_hash not glob '*[^0-9a-f]*'),
  role text not null default 'user' check (role in ('user', 'admin')),
  created_by text references accounts (id) on delete set null,
  created_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  expires_at integer not null,
  used_at integer,
  used_by text references accounts (id) on delete set null,
  constraint invites_code_hash_key unique (code_hash)
) strict;

create table account_events (
  id integer primary key autoincrement,
  account_id text not null references accounts (id) on delete cascade,
  at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  -- login, login_failed, logout, register, password_changed, key_exported, ...
  action text not null,
  detail text,
  ip text
) strict;

create index account_events_account_at_idx on account_events (account_id, at);
create index account_events_at_idx on account_events (at);

create table keys_new (
  id text primary key not null check (length(id) = 36),
  name text not null,
  pubkey text not null check (length(pubkey) = 64 and pubkey not glob '*[^0-9a-f]*'),
  -- vault-sealed secret key; the additional data is pubkey
  secret_sealed text not null,
  created_at integer not null default (cast(unixepoch('subsec') * 1000 as integer)),
  account_id text references accounts (id) on delete restrict,
  constraint keys_pubkey_key unique (pubkey)
) strict;

insert into keys_new (id, name, pubkey, secret_sealed, created_at)
  select id, name, pubkey, secret_sealed, created_at from keys;

drop table keys;

alter table keys_new rename to keys;

create unique index keys_operator_name_key on keys (name) where account_id is null;
create unique index keys_account_name_key on keys (account_id, name) where account_id is not null;
