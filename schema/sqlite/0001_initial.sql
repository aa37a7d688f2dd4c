-- Timbang store, schema 1: documents, projections, audit.
-- Every personal value (name, NIK, KK, mother's data, address) is sealed (AES-256-GCM) by the core
-- before it reaches SQLite; columns holding sealed bytes are marked "sealed".

-- Device settings and the key canary. Values are not personal data; the team secret is sealed.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- One automerge document per child. The document is the concatenation of its chunks in `seq` order:
-- one full save (after compaction) followed by incremental saves. `heads` (sorted 32-byte change
-- hashes, concatenated) lets sync compare devices without loading documents.
CREATE TABLE docs (
    child_id   TEXT PRIMARY KEY NOT NULL,
    heads      BLOB NOT NULL,
    chunks     INTEGER NOT NULL DEFAULT 0,
    bytes      INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE doc_chunks (
    seq      INTEGER PRIMARY KEY,
    child_id TEXT NOT NULL REFERENCES docs(child_id) ON DELETE CASCADE,
    data     BLOB NOT NULL                                 -- sealed automerge bytes
);
CREATE INDEX doc_chunks_by_child ON doc_chunks(child_id, seq);

-- Projection: one row per child document, merged duplicates included. Rebuilt from the documents.
CREATE TABLE children (
    child_id       TEXT PRIMARY KEY NOT NULL,
    root_id        TEXT NOT NULL,          -- the kept child after duplicate merges (itself if none)
    merged_into    TEXT,
    sex            TEXT,                   -- L or P
    birth_date     TEXT,                   -- YYYY-MM-DD
    name           BLOB NOT NULL,          -- sealed
    nik            BLOB,                   -- sealed
    kk             BLOB,                   -- sealed
    mother_name    BLOB,                   -- sealed
    mother_nik     BLOB,                   -- sealed
    address        BLOB,                   -- sealed
    nik_tag        BLOB,                   -- keyed blind index of the NIK (HMAC), for look-up
    mother_nik_tag BLOB,                   -- keyed blind index of the mother's NIK
    identity_tag   BLOB NOT NULL,          -- keyed hash of the whole row's source, to skip unchanged rewrites
    deleted        INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX children_by_root ON children(root_id);
CREATE INDEX children_by_nik ON children(nik_tag);
CREATE INDEX children_by_birth ON children(birth_date);

-- Projection: visits of each kept child (merged duplicates folded in) with the assessment computed
-- when the row was written. z-scores are stored as integer hundredths (they are rounded to 2 decimals);
-- the Permenkes classes are derived from them when read. `version` names the growth standard and rule
-- tables the assessment was computed with.
CREATE TABLE visits (
    child_id   TEXT NOT NULL,
    visit_date TEXT NOT NULL,
    weight_g   INTEGER,
    height_mm  INTEGER,
    position   TEXT,
    head_mm    INTEGER,
    muac_mm    INTEGER,
    oedema     INTEGER,
    confirmed  TEXT NOT NULL DEFAULT '',       -- comma-separated concern codes the kader confirmed
    services   TEXT NOT NULL DEFAULT '',       -- comma-separated service codes (vitamin A, PMT, ...)
    age_days   INTEGER NOT NULL,
    age_months INTEGER NOT NULL,
    waz        INTEGER,                        -- z * 100
    haz        INTEGER,
    whz        INTEGER,
    baz        INTEGER,
    hcz        INTEGER,
    acz        INTEGER,
    flags      INTEGER NOT NULL DEFAULT 0,     -- WHO flags: waz 1, haz 2, whz 4, baz 8, hcz 16, acz 32; bgm 64; 2T 128
    clenhei_mm INTEGER,                        -- adjusted length used, in mm
    kms        TEXT,                           -- N, T, O or B
    gain_g     INTEGER,
    referral   TEXT NOT NULL DEFAULT '',       -- comma-separated reason codes, most urgent first
    version    INTEGER NOT NULL REFERENCES assessment_versions(id),
    PRIMARY KEY (child_id, visit_date)
) WITHOUT ROWID;

-- The growth standard and rule-table versions assessments were computed with.
CREATE TABLE assessment_versions (
    id       INTEGER PRIMARY KEY,
    standard TEXT NOT NULL,
    rules    TEXT NOT NULL,
    UNIQUE (standard, rules)
);

-- Projection: latest status per kept child, for the village list.
CREATE TABLE child_status (
    child_id      TEXT PRIMARY KEY NOT NULL,
    last_visit    TEXT,
    last_weighing TEXT,
    weight_g      INTEGER,
    height_mm     INTEGER,
    waz           REAL,
    haz           REAL,
    whz           REAL,
    kms           TEXT,
    referral      TEXT NOT NULL DEFAULT '[]',  -- reason codes of the latest visit
    visit_count   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

-- Projection: open conflicts (concurrent different values of one field).
CREATE TABLE conflicts (
    conflict_id TEXT PRIMARY KEY NOT NULL,
    child_id    TEXT NOT NULL,             -- the document holding the conflict
    doc_key     TEXT NOT NULL,
    field       TEXT NOT NULL,
    visit_date  TEXT,
    payload     BLOB NOT NULL              -- sealed JSON array of the values (they may be names)
) WITHOUT ROWID;
CREATE INDEX conflicts_by_child ON conflicts(child_id);

-- Append-only audit log: who (device, kader), when, what kind. No personal data: ids and action kinds;
-- the kader's name is sealed.
CREATE TABLE audit (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TEXT NOT NULL,
    device   TEXT NOT NULL,
    kader    BLOB,                         -- sealed
    action   TEXT NOT NULL,
    child_id TEXT,
    detail   TEXT
);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
