-- Schema 6: RT and RW, the neighbourhood units of the address, recorded at registration as their own
-- fields (three digits, `002`) so lists and reports can group by them. Part of the address: sealed.
ALTER TABLE children ADD COLUMN rt BLOB;                 -- sealed
ALTER TABLE children ADD COLUMN rw BLOB;                 -- sealed

-- Documents may already carry them (received from a phone running newer code): fill the added columns
-- from the documents at the next open (`Timbang::open`, `MetaKey::ProjectionsStale`).
INSERT OR REPLACE INTO meta(key, value) VALUES ('projections_stale', X'01');
