-- Schema 8: one database in several posyandu teams (a bidan's phone: one pairing code per posyandu).
--
-- `teams` replaces the `team_id` and `team_secret` keys of `meta`. Team 1 is the device's first team:
-- the one `init` set up (its id and secret are made at the first `team invite`, NULL until then) or the
-- one a fresh database joined. `team join CODE` on a database already set up adds a row. The secret is
-- sealed exactly as it was in `meta` (purpose `team_secret`), so the migrated row opens unchanged.
-- Nothing here is personal data; the posyandu name of a team is read from its children's documents.
CREATE TABLE teams (
    team_no  INTEGER PRIMARY KEY,              -- local number; 1 the first team
    team_id  BLOB UNIQUE,                      -- 16 bytes, sent in the clear in peer hellos
    secret   BLOB,                             -- 32 bytes, sealed
    added_at TEXT NOT NULL
);
INSERT INTO teams(team_no, team_id, secret, added_at)
    VALUES (1, (SELECT value FROM meta WHERE key = 'team_id'),
            (SELECT value FROM meta WHERE key = 'team_secret'),
            strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
DELETE FROM meta WHERE key IN ('team_id', 'team_secret');

-- The team each document belongs to (`teams.team_no`): the team of the posyandu that registered it, or
-- the team it arrived through. A peer session or relay sync of a team reads and writes only its
-- documents. Existing documents belong to the one team the database had.
ALTER TABLE docs ADD COLUMN team INTEGER NOT NULL DEFAULT 1;
CREATE INDEX docs_by_team ON docs(team);
