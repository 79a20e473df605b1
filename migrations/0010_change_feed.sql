-- Every write another app node must see, in commit order: a case filed or changed, the guides
-- changed. Each node's search index keeps the last sequence number it applied and reads on from
-- there; a single SQLite node writes it too, so a database moved to PostgreSQL keeps its history.
CREATE TABLE changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    kind   TEXT NOT NULL,                 -- case, guides
    target TEXT NOT NULL DEFAULT '',      -- the case id; '' for guides
    node   TEXT NOT NULL DEFAULT '',      -- the node that wrote it
    at     TEXT NOT NULL
);
CREATE INDEX changes_at ON changes (at);

-- Asset names match ignoring ASCII capitals through lower(), which both engines index.
DROP INDEX cases_asset;
CREATE INDEX cases_asset ON cases (lower(asset), created_at DESC, id DESC);
