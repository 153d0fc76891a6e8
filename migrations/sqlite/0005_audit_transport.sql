-- How each audited request reached the signer: over relays (NIP-46, every row before this
-- migration) or POST /api/nostr (HTTP signing with an OAuth access token).
alter table audit_log add column transport text not null default 'nip46'
  check (transport in ('nip46', 'http'));
