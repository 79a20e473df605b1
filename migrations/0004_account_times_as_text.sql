-- Account times become the one time format of the database: RFC 3339 UTC text with microseconds
-- (`2026-11-20T14:03:07.000000Z`), like every other timestamp column. Rows written as Unix
-- seconds are converted in place. Columns are added, filled and swapped rather than tables
-- rebuilt, so that no foreign key cascades while the migration runs.

DROP INDEX audit_at;
DROP INDEX audit_action;

ALTER TABLE users ADD COLUMN created_at_text TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN password_set_at_text TEXT NOT NULL DEFAULT '';
UPDATE users SET
    created_at_text = strftime('%Y-%m-%dT%H:%M:%S', created_at, 'unixepoch') || '.000000Z',
    password_set_at_text = strftime('%Y-%m-%dT%H:%M:%S', password_set_at, 'unixepoch') || '.000000Z';
ALTER TABLE users DROP COLUMN created_at;
ALTER TABLE users DROP COLUMN password_set_at;
ALTER TABLE users RENAME COLUMN created_at_text TO created_at;
ALTER TABLE users RENAME COLUMN password_set_at_text TO password_set_at;

ALTER TABLE sessions ADD COLUMN created_at_text TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN last_seen_at_text TEXT NOT NULL DEFAULT '';
UPDATE sessions SET
    created_at_text = strftime('%Y-%m-%dT%H:%M:%S', created_at, 'unixepoch') || '.000000Z',
    last_seen_at_text = strftime('%Y-%m-%dT%H:%M:%S', last_seen_at, 'unixepoch') || '.000000Z';
ALTER TABLE sessions DROP COLUMN created_at;
ALTER TABLE sessions DROP COLUMN last_seen_at;
ALTER TABLE sessions RENAME COLUMN created_at_text TO created_at;
ALTER TABLE sessions RENAME COLUMN last_seen_at_text TO last_seen_at;

ALTER TABLE api_tokens ADD COLUMN created_at_text TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD COLUMN last_used_at_text TEXT;
ALTER TABLE api_tokens ADD COLUMN revoked_at_text TEXT;
UPDATE api_tokens SET
    created_at_text = strftime('%Y-%m-%dT%H:%M:%S', created_at, 'unixepoch') || '.000000Z',
    last_used_at_text = strftime('%Y-%m-%dT%H:%M:%S', last_used_at, 'unixepoch') || '.000000Z',
    revoked_at_text = strftime('%Y-%m-%dT%H:%M:%S', revoked_at, 'unixepoch') || '.000000Z';
-- The partial unique index names revoked_at; it is rebuilt on the new column.
DROP INDEX api_tokens_live_name;
ALTER TABLE api_tokens DROP COLUMN created_at;
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE api_tokens DROP COLUMN revoked_at;
ALTER TABLE api_tokens RENAME COLUMN created_at_text TO created_at;
ALTER TABLE api_tokens RENAME COLUMN last_used_at_text TO last_used_at;
ALTER TABLE api_tokens RENAME COLUMN revoked_at_text TO revoked_at;
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

ALTER TABLE audit_log ADD COLUMN at_text TEXT NOT NULL DEFAULT '';
UPDATE audit_log SET at_text = strftime('%Y-%m-%dT%H:%M:%S', at, 'unixepoch') || '.000000Z';
ALTER TABLE audit_log DROP COLUMN at;
ALTER TABLE audit_log RENAME COLUMN at_text TO at;
CREATE INDEX audit_at ON audit_log (at DESC, id DESC);
CREATE INDEX audit_action ON audit_log (action, at DESC);
