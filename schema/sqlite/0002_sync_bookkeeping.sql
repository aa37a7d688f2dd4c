-- Schema 2: sync bookkeeping in the same database.

-- Visits waiting for ASIK/SATUSEHAT. A visit whose measurements change (`content`, a fingerprint of
-- them) goes back to 'pending'; rebuilding projections or folding a merged duplicate in leaves the state
-- alone when the content is the same. `server_ids` keeps the ids the server returned as soon as they are
-- known (JSON), so a retry after an ambiguous failure looks up instead of creating twice.
CREATE TABLE outbox (
    child_id    TEXT NOT NULL,
    visit_date  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'rejected')),
    content     BLOB NOT NULL,                 -- first 8 bytes of SHA-256 over the measurements
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    server_ids  TEXT,
    changed_at  INTEGER NOT NULL,              -- unix seconds
    PRIMARY KEY (child_id, visit_date)
) WITHOUT ROWID;
CREATE INDEX outbox_by_state ON outbox(state);

-- Phone-to-phone sync: the automerge sync state per peer and document, to resume cheaply.
CREATE TABLE peer_docs (
    peer_id  TEXT NOT NULL,
    child_id TEXT NOT NULL,
    state    BLOB NOT NULL,
    PRIMARY KEY (peer_id, child_id)
) WITHOUT ROWID;

-- One row per peer this device has synced with.
CREATE TABLE peers (
    peer_id      TEXT PRIMARY KEY NOT NULL,
    last_sync_at TEXT,
    sessions     INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
