-- Schema 4: what the reports need from the children projection (SKDN, register, exports).
--
-- `has_kms`: 0 when the child has no KMS / Buku KIA (the K of SKDN); NULL (never recorded) or 1 count as
-- yes, the default at registration. `posyandu` and `village` are the names of the posyandu that
-- registered the child, carried in its document so that they reach every phone of the team; they are
-- not personal data and stay plain.
ALTER TABLE children ADD COLUMN has_kms INTEGER;
ALTER TABLE children ADD COLUMN posyandu TEXT;
ALTER TABLE children ADD COLUMN village TEXT;

-- Documents may already carry these fields (received from a phone running newer code): rebuild the
-- projections from the documents at the next open (`Timbang::open`, `MetaKey::ProjectionsStale`).
INSERT OR REPLACE INTO meta(key, value) VALUES ('projections_stale', X'01');
