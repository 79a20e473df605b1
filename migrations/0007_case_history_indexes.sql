-- An asset's history and the diff between its cases look cases up by asset, compared as
-- `asset = ? COLLATE NOCASE`; the index uses the same collation so it serves that comparison.
-- The recurring-faults list reads a window of `created_at` (cases_created) or one guide's
-- cases (cases_guide), which existing indexes already serve.
CREATE INDEX cases_asset ON cases (asset COLLATE NOCASE, created_at DESC, id DESC);
