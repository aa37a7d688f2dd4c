-- Schema 9: numbered document writes, so a phone-to-phone session can start from a checkpoint.
--
-- Every write of a document (recorded here or received) takes the next number of `meta.doc_seq` and
-- keeps it in `docs.seq`; `meta.store_epoch` (16 random bytes) names this database's numbering. The
-- device that dialled keeps, per peer and team, where the last session that ended with both stores the
-- same left them (`peer_checkpoints`): the peer's epoch and number, and its own number. The next session
-- lists only the documents written since on either side, and checks the result against the whole store
-- (`core/src/peer/session.rs`). Documents written before this migration have number 0.
ALTER TABLE docs ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX docs_by_seq ON docs(team, seq);
INSERT OR IGNORE INTO meta(key, value) VALUES ('store_epoch', randomblob(16)), ('doc_seq', 0);
CREATE TABLE peer_checkpoints (
    peer_id     TEXT NOT NULL,
    team        INTEGER NOT NULL,
    their_epoch BLOB NOT NULL,
    their_seq   INTEGER NOT NULL,
    own_seq     INTEGER NOT NULL,
    PRIMARY KEY (peer_id, team)
) WITHOUT ROWID;
