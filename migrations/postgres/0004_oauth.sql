-- OAuth 2.0: clients an operator registered, authorization codes, the grants they became (each
-- with the NIP-46 authorization it created) and the grants' access and refresh tokens. Codes and
-- tokens are stored only as their sha256.

create table oauth_clients (
  -- the client_id apps send
  client_id text primary key check (length(client_id) between 1 and 200),
  name text not null,
  -- JSON array of exact redirect URIs
  redirect_uris text not null,
  -- the policy its grants get when the app asks for none
  policy_name text,
  created_at timestamptz not null default now()
);

create table oauth_codes (
  code_hash text primary key check (code_hash ~ '^[0-9a-f]{64}$'),
  client_id text not null,
  redirect_uri text not null,
  account_id uuid not null references accounts (id) on delete cascade,
  key_id uuid not null references keys (id) on delete cascade,
  policy_name text not null,
  -- base64url sha256 of the PKCE verifier (S256 only)
  code_challenge text not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  -- a second use: the grant made from it must end
  replayed_at timestamptz,
  -- the grant made from it (chosen when the code is claimed), so a second use can revoke it
  grant_id uuid
);

create index oauth_codes_expires_at_idx on oauth_codes (expires_at);

create table oauth_grants (
  id uuid primary key,
  authorization_id uuid not null references authorizations (id) on delete cascade,
  account_id uuid not null references accounts (id) on delete cascade,
  client_id text not null,
  -- scheme://host[:port] of the redirect URI: the app's identity, and its CORS origin
  redirect_origin text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

create index oauth_grants_authorization_id_idx on oauth_grants (authorization_id);

create table oauth_tokens (
  token_hash text primary key check (token_hash ~ '^[0-9a-f]{64}$'),
  grant_id uuid not null references oauth_grants (id) on delete cascade,
  kind text not null check (kind in ('access', 'refresh')),
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  -- a refresh token that was exchanged: using it again revokes the grant
  used_at timestamptz
);

create index oauth_tokens_grant_id_idx on oauth_tokens (grant_id);
create index oauth_tokens_expires_at_idx on oauth_tokens (expires_at);
