-- NIP-98 event ids already accepted, until they could no longer be replayed anyway; kept in the
-- database so a replay fails across restarts (and, later, across instances).
create table nip98_replays (
  event_id text primary key not null
    check (length(event_id) = 64 and event_id not glob '*[^0-9a-f]*'),
  expires_at integer not null
) strict;

create index nip98_replays_expires_at_idx on nip98_replays (expires_at);

-- One row per master key that sealed rows here: an HMAC of a fixed text under that key, so a
-- server started with another master key refuses to run instead of failing request by request.
create table vault_keys (
  key_id integer primary key not null check (key_id > 0),
  check_value text not null
    check (length(check_value) = 64 and check_value not glob '*[^0-9a-f]*'),
  created_at integer not null default (cast(unixepoch('subsec') * 1000 as integer))
) strict;
