-- A filer's own additions to their case (a new outcome, a note, photos), one row per send.
-- The idempotency key makes a resent form add nothing twice.
CREATE TABLE case_updates (
    idempotency_key TEXT PRIMARY KEY,
    case_id         TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    at              TEXT NOT NULL,              -- RFC 3339, UTC, microseconds
    actor           TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX case_updates_case ON case_updates (case_id, at);
