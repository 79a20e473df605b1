-- Accounts: people with a role, sessions for their browsers, bearer tokens for scripts, and an
-- audit log of every write. Times are Unix seconds (comparisons) or RFC 3339 (display).
CREATE TABLE users (
    id            TEXT PRIMARY KEY,                  -- UUID v7
    name          TEXT NOT NULL UNIQUE COLLATE NOCASE,
    role          TEXT NOT NULL CHECK (role IN ('viewer', 'tech', 'editor', 'admin')),
    password_hash TEXT NOT NULL,                     -- argon2id PHC string; '' for proxy users
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    password_set_at INTEGER NOT NULL
);

-- The browser holds a random session id; only its SHA-256 is stored, so a copy of the database
-- does not log anyone in.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    addr         TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL COLLATE NOCASE,
    role         TEXT NOT NULL CHECK (role IN ('viewer', 'tech', 'editor', 'admin')),
    token_hash   TEXT NOT NULL UNIQUE,               -- SHA-256 of the token; the token is shown once
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    last_used_at INTEGER,
    revoked_at   INTEGER
);
-- A name is unique among live tokens; a revoked token's name can be used again.
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,     -- user name, `token:NAME`, `proxy:NAME`, `anonymous` or `cli`
    role    TEXT NOT NULL DEFAULT '',
    addr    TEXT NOT NULL DEFAULT '',
    action  TEXT NOT NULL,     -- e.g. login, login.failed, case.file, user.add, token.revoke
    target  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_action ON audit_log (action, at DESC);

-- Secrets the server keeps across restarts (the key of proxy users' form tokens).
CREATE TABLE server_secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Who filed a case (the account, token or open-intake address, not the free-text name typed in
-- the form), and whether an editor has closed it.
ALTER TABLE cases ADD COLUMN filed_account TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN filed_from TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN closed_at TEXT;
ALTER TABLE cases ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN updated_at TEXT;
