-- Schema 4: sync through an S3-compatible object store (the relay). Nothing here is personal data.

-- This database as a writer to the relay of one team: a random id (not the device id), the next
-- sequence number to use (reserved here before an object is written, so no name is used twice) and the
-- lamport clock (one more than the largest seen).
CREATE TABLE relay_self (
    team_tag  TEXT PRIMARY KEY NOT NULL,       -- the team part of object names
    device    TEXT NOT NULL,                   -- 16 hex digits
    next_seq  INTEGER NOT NULL DEFAULT 1,
    lamport   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Per document, the heads whose changes the relay already holds (pushed from here, or pulled from it
-- with nothing of this phone's own in between): the next push sends what is newer.
CREATE TABLE relay_docs (
    team_tag TEXT NOT NULL,
    child_id TEXT NOT NULL,
    heads    BLOB NOT NULL,                    -- sorted 32-byte change hashes, concatenated
    PRIMARY KEY (team_tag, child_id)
) WITHOUT ROWID;

-- Per writing device of the relay, the highest sequence number applied here (the cursor).
CREATE TABLE relay_cursor (
    team_tag TEXT NOT NULL,
    device   TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (team_tag, device)
) WITHOUT ROWID;
