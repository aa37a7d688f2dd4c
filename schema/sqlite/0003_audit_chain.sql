-- Schema 3: a tamper-evident audit log.
--
-- The append-only triggers of schema 1 stop the app from rewriting the log, not someone holding the
-- file. So every row now carries a keyed MAC (HMAC-SHA256 with a key derived from the host's key) over
-- the previous row's MAC and this row's content; `meta.audit_head` holds the MAC of the last row.
-- `timbang check` walks the chain and names the first row that was altered, inserted or deleted (a
-- deleted last row shows as a head that does not match). Rows written before schema 3 have no MAC; the
-- chain starts at the first row that has one.
ALTER TABLE audit ADD COLUMN mac BLOB;

-- Finding the documents merged into a child without a scan (a new document changes other roots only when
-- one points at it).
CREATE INDEX children_by_merged_into ON children(merged_into) WHERE merged_into IS NOT NULL;
