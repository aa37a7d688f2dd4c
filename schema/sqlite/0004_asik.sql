-- Schema 4: ASIK/SATUSEHAT upload attempts.
--
-- What was sent (server ids, fingerprints) lives in each child's document (`asik/…` keys, see
-- core/src/crdt.rs), so it travels to the other phones by peer sync. This table keeps only what is
-- local to this phone: how often and when a visit was tried, and a refusal the bidan must look at.
-- `rejected_fp` is the visit fingerprint the server refused; a visit whose data changed since is
-- pending again. `last_error` is the server's reason, sealed (it may quote what was sent).
-- The `outbox` of schema 2 stays as it was for older code; the upload engine does not read it.
CREATE TABLE asik_attempts (
    child_id     TEXT NOT NULL,
    visit_date   TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_attempt INTEGER,                      -- unix seconds
    rejected_fp  TEXT,
    last_error   BLOB,
    PRIMARY KEY (child_id, visit_date)
) WITHOUT ROWID;
