-- One text form for every stored time: RFC 3339, UTC, microseconds, `Z` (see src/time.rs).
-- Content loads were written as `...+00:00` with a varying number of fraction digits.
UPDATE content_loads
SET loaded_at = strftime('%Y-%m-%dT%H:%M:%f', loaded_at) || '000Z'
WHERE loaded_at NOT LIKE '%Z' AND strftime('%Y-%m-%dT%H:%M:%f', loaded_at) IS NOT NULL;
