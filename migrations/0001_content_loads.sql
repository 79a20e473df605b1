-- Every time the server loads the guides it records what it loaded, so the search index
-- can tell whether guides changed since it was last built.
CREATE TABLE content_loads (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash TEXT    NOT NULL,
    guide_count  INTEGER NOT NULL,
    loaded_at    TEXT    NOT NULL
);
