-- The alarm a case is about, reduced to what stays the same between two sightings of one fault:
-- the status or Windows code when the text holds one, else the first line without its log
-- timestamp, lower-cased. Computed by the server (`cases::similar::alarm_key`) when a case is
-- filed or corrected, and for older rows at start, so it may be NULL until then.
ALTER TABLE cases ADD COLUMN alarm_key TEXT;
CREATE INDEX cases_alarm_cell ON cases (alarm_key, cell, created_at DESC);
CREATE INDEX cases_alarm ON cases (alarm_key, created_at DESC);

-- Which of its guide's numbered Verify steps a case confirmed. The step's words are kept as they
-- read when the case was filed, because the guide may be reworded later.
CREATE TABLE case_checks (
    case_id   TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    step      INTEGER NOT NULL,              -- 1-based, as numbered under the guide's Verify
    step_text TEXT NOT NULL,
    passed    INTEGER NOT NULL CHECK (passed IN (0, 1)),
    PRIMARY KEY (case_id, step)
);
