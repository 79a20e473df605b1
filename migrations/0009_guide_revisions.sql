-- Guides live in the database, every revision of them; content/ is how they come in and go out.
CREATE TABLE guides (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The slug it is served under now; older slugs stay as aliases in its text.
    slug              TEXT    NOT NULL UNIQUE,
    current_revision  INTEGER,
    -- The file under content/ it is imported from, and that file's SHA-256 at its last import.
    file_path         TEXT    UNIQUE,
    file_sha          TEXT,
    -- The revision that import made current: when `current_revision` differs, someone edited the
    -- guide in the browser since, and a changed file waits as a conflict instead of winning.
    imported_revision INTEGER,
    created_at        TEXT    NOT NULL
);

CREATE TABLE guide_revisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    guide_id      INTEGER NOT NULL REFERENCES guides(id),
    -- `<platform>/<slug>.md`: where the text would live as a file.
    path          TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    author        TEXT    NOT NULL,
    -- import, edit, new, restore, suggestion
    origin        TEXT    NOT NULL,
    summary       TEXT    NOT NULL DEFAULT '',
    -- published (it is or was the current text), pending (a suggestion), declined,
    -- conflict (a file change waiting for an editor), set-aside (a conflict the editor did not take)
    state         TEXT    NOT NULL,
    base_revision INTEGER,
    lines_added   INTEGER NOT NULL DEFAULT 0,
    lines_removed INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT    NOT NULL,
    reviewed_by   TEXT,
    reviewed_at   TEXT,
    review_note   TEXT
);
CREATE INDEX guide_revisions_by_guide ON guide_revisions(guide_id, id);
CREATE INDEX guide_revisions_waiting ON guide_revisions(state, id) WHERE state IN ('pending', 'conflict');
CREATE INDEX guide_revisions_by_author ON guide_revisions(author, id);

-- The database twin of content/published-slugs.txt: slugs first published in the browser.
CREATE TABLE published_slugs (
    slug     TEXT PRIMARY KEY,
    added_at TEXT NOT NULL
);

-- Files under content/ the last import refused, with the lint's faults, for editors to see.
CREATE TABLE guide_import_faults (
    path     TEXT PRIMARY KEY,
    file_sha TEXT NOT NULL,
    faults   TEXT NOT NULL,
    seen_at  TEXT NOT NULL
);
