-- Cases: what the screen said, on which machine, what was done. A case belongs to one guide
-- or to none yet (Unsorted). Every write carries an idempotency key.
CREATE TABLE cases (
    id                   TEXT PRIMARY KEY,           -- UUID v7
    guide                TEXT,                       -- guide slug, NULL while unsorted
    created_at           TEXT NOT NULL,              -- RFC 3339, UTC, microseconds
    filed_by             TEXT NOT NULL DEFAULT '',
    site                 TEXT NOT NULL DEFAULT '',
    line                 TEXT NOT NULL DEFAULT '',
    cell                 TEXT NOT NULL DEFAULT '',
    asset                TEXT NOT NULL DEFAULT '',
    serial               TEXT NOT NULL DEFAULT '',
    firmware_revision    TEXT NOT NULL DEFAULT '',
    software_version     TEXT NOT NULL DEFAULT '',
    parameter_set        TEXT NOT NULL DEFAULT '',
    io_mapping           TEXT NOT NULL DEFAULT '',
    verbatim_alarm       TEXT NOT NULL,              -- exactly as typed, never trimmed
    alarm_at             TEXT,
    hour_meter           REAL,
    part_count           INTEGER,
    fix_applied          TEXT NOT NULL DEFAULT '',
    outcome              TEXT NOT NULL CHECK (outcome IN ('fixed', 'workaround', 'not_fixed', 'escalated')),
    verified_sister_cell TEXT NOT NULL DEFAULT '',
    notes                TEXT NOT NULL DEFAULT '',
    idempotency_key      TEXT NOT NULL UNIQUE,
    request_hash         TEXT NOT NULL
);
CREATE INDEX cases_created ON cases (created_at DESC, id DESC);
CREATE INDEX cases_guide ON cases (guide, created_at DESC);

-- Photos are files named by the SHA-256 of their re-encoded bytes; a row ties one to a case.
CREATE TABLE case_photos (
    case_id  TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    sha256   TEXT NOT NULL,
    width    INTEGER NOT NULL,
    height   INTEGER NOT NULL,
    bytes    INTEGER NOT NULL,
    PRIMARY KEY (case_id, position)
);
CREATE INDEX case_photos_sha ON case_photos (sha256);
