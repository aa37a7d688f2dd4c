#!/usr/bin/env node
// PouchDB side of scripts/bench_peer_vs_pouchdb.sh: device A (a PouchDB in memory served over HTTP by
// express-pouchdb, in its own process) replicates to a fresh device B (a PouchDB in memory in this
// process), over HTTP on 127.0.0.1 only; then 50 children change on A and B replicates again.
//
//   node bench.js FIXTURE.json [--model per-visit|embedded] [--direction pull|sync] [--gzip on|off]
//
// FIXTURE.json is written by `peer_fixture create` (the same children Timbang imports).
// --model per-visit: the CHT way, one doc per child (a "person" contact) and one doc per visit
//   (a "data_record" report); the change is one new report doc for each of 50 children.
// --model embedded: one doc per child with its visits in an array; the change is a new revision of
//   50 child docs.
// --direction pull: B.replicate.from(A), the least PouchDB needs; sync: B.sync(A), both directions as
//   `timbang peer sync` does.
// --gzip on (default): express-pouchdb's `compression` middleware as shipped (node-fetch asks for
//   gzip); off: that middleware excluded.
// Bytes are counted on the server's TCP sockets (bytesRead/bytesWritten: HTTP headers and bodies), so
// "sent" is what B wrote and "received" what B read, as in Timbang's report. Time is wall-clock of
// the replication call in B's process (node start, require and loading A are not included).
// Prints one JSON line.
//
// Install: `npm ci --prefix scripts/pouchdb-bench` (exact versions in package.json and the lock file).
// npm may skip leveldown's install script; it is not needed, only the memory adapter is used.
'use strict';

const path = require('path');
const { fork } = require('child_process');
const crypto = require('crypto');

const PouchDB = require('pouchdb');
PouchDB.plugin(require('pouchdb-adapter-memory'));
const MemPouch = PouchDB.defaults({ adapter: 'memory' });

function parseArgs(argv) {
  const o = { model: 'per-visit', direction: 'pull', gzip: 'on' };
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--model' || a === '--direction' || a === '--gzip') o[a.slice(2)] = argv[++i];
    else rest.push(a);
  }
  if (rest.length !== 1 || !['per-visit', 'embedded'].includes(o.model) ||
      !['pull', 'sync'].includes(o.direction) || !['on', 'off'].includes(o.gzip)) {
    console.error('usage: node bench.js FIXTURE.json [--model per-visit|embedded] ' +
      '[--direction pull|sync] [--gzip on|off]');
    process.exit(2);
  }
  o.fixture = rest[0];
  return o;
}

// ---------------------------------------------------------------- documents (CHT-like, lean)

const POSYANDU_ID = 'f3b5c0de-0000-4000-8000-00000000a001';
const KADER_ID = 'f3b5c0de-0000-4000-8000-00000000a002';

function msOf(date) {
  return Date.parse(date + 'T09:00:00+07:00');
}

function visitFields(v) {
  const f = {
    visit_date: v.date,
    weight: v.weight_g / 1000,
    height: v.height_mm / 10,
    position: v.position,
  };
  if (v.head_mm !== undefined) f.head_circumference = v.head_mm / 10;
  if (v.muac_mm !== undefined) f.muac = v.muac_mm / 10;
  return f;
}

function person(c) {
  return {
    _id: c.id,
    type: 'person',
    name: c.name,
    sex: c.sex === 'L' ? 'male' : 'female',
    date_of_birth: c.birth_date,
    mother_name: c.mother_name,
    address: c.address,
    parent: { _id: POSYANDU_ID },
    reported_date: msOf(c.visits[0].date),
  };
}

function report(c, v) {
  return {
    _id: crypto.randomUUID(),
    type: 'data_record',
    form: 'growth_monitoring',
    content_type: 'xml',
    reported_date: msOf(v.date),
    contact: { _id: KADER_ID, parent: { _id: POSYANDU_ID } },
    fields: { patient_uuid: c.id, ...visitFields(v) },
  };
}

function embedded(c, visits) {
  return { ...person(c), visits: visits.map(visitFields) };
}

// ---------------------------------------------------------------- device A (server process)

async function bulk(db, docs) {
  for (let i = 0; i < docs.length; i += 1000) {
    const res = await db.bulkDocs(docs.slice(i, i + 1000));
    const bad = res.find((r) => r.error);
    if (bad) throw new Error('bulkDocs: ' + JSON.stringify(bad));
  }
}

async function serve(opts) {
  const fixture = JSON.parse(require('fs').readFileSync(opts.fixture, 'utf8'));
  const expressPouch = require('express-pouchdb');
  const app = expressPouch(MemPouch, {
    mode: 'minimumForPouchDB',
    overrideMode: { exclude: opts.gzip === 'off' ? ['compression'] : [] },
    logPath: '/dev/null',
  });
  const db = new MemPouch('posyandu');
  let docs = [];
  for (const c of fixture.children) {
    if (opts.model === 'embedded') docs.push(embedded(c, c.visits));
    else docs.push(person(c), ...c.visits.map((v) => report(c, v)));
  }
  await bulk(db, docs);
  docs = null;

  // Bytes on every socket the HTTP server accepted.
  const live = new Set();
  let closed = { read: 0, written: 0 };
  let base = { read: 0, written: 0 };
  const totals = () => {
    const t = { ...closed };
    for (const s of live) {
      t.read += s.bytesRead;
      t.written += s.bytesWritten;
    }
    return t;
  };
  const server = app.listen(0, '127.0.0.1', () => {
    process.send({ ready: true, port: server.address().port, docs: fixture.children.length });
  });
  server.on('connection', (s) => {
    live.add(s);
    s.on('close', () => {
      live.delete(s);
      closed.read += s.bytesRead;
      closed.written += s.bytesWritten;
    });
  });

  process.on('disconnect', () => process.exit(0)); // B's process ended
  process.on('message', async (m) => {
    try {
      if (m.cmd === 'counters') {
        const t = totals();
        process.send({ counters: { read: t.read - base.read, written: t.written - base.written } });
        base = t;
      } else if (m.cmd === 'change') {
        const changed = [];
        for (const ch of fixture.changes) {
          const c = fixture.children[ch.child];
          if (opts.model === 'embedded') {
            const old = await db.get(c.id);
            changed.push({ ...embedded(c, [...c.visits, ch.visit]), _rev: old._rev });
          } else {
            changed.push(report(c, ch.visit));
          }
        }
        await bulk(db, changed);
        const info = await db.info();
        process.send({ changed: changed.length, doc_count: info.doc_count });
      } else if (m.cmd === 'exit') {
        server.close();
        for (const s of live) s.destroy();
        process.exit(0);
      }
    } catch (e) {
      process.send({ error: String(e && e.stack || e) });
    }
  });
}

// ---------------------------------------------------------------- device B (this process)

function ask(child, msg, key) {
  return new Promise((resolve, reject) => {
    const done = () => {
      child.off('message', on);
      child.off('exit', gone);
    };
    const on = (m) => {
      if (m.error) {
        done();
        reject(new Error(m.error));
      } else if (m[key] !== undefined) {
        done();
        resolve(m);
      }
    };
    const gone = (code) => {
      done();
      reject(new Error(`device A's process ended (${code})`));
    };
    child.on('message', on);
    child.on('exit', gone);
    if (msg) child.send(msg);
  });
}

async function replicate(b, url, direction) {
  const remote = new PouchDB(url);
  const t0 = process.hrtime.bigint();
  const res = direction === 'sync' ? await b.sync(remote) : await b.replicate.from(remote);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const pulled = direction === 'sync' ? res.pull : res;
  if (pulled.status !== 'complete' || (pulled.doc_write_failures || 0) > 0) {
    throw new Error('replication did not complete: ' + JSON.stringify(pulled));
  }
  return { ms, docs_written: pulled.docs_written };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  // Bounded: a run that hangs ends itself (both processes).
  setTimeout(() => {
    console.error('bench.js: no result after 10 minutes');
    process.exit(1);
  }, 600_000).unref();
  if (process.env.POUCH_BENCH_ROLE === 'server') return serve(opts);

  const server = fork(__filename, process.argv.slice(2), {
    env: { ...process.env, POUCH_BENCH_ROLE: 'server' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited = false;
  server.on('exit', () => { exited = true; });
  try {
    const t0 = process.hrtime.bigint();
    const ready = await ask(server, null, 'ready');
    const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const url = `http://127.0.0.1:${ready.port}/posyandu`;
    const b = new MemPouch('device-b');
    const out = {
      setup: 'pouchdb', model: opts.model, direction: opts.direction, gzip: opts.gzip,
      node: process.version, pouchdb: require('pouchdb/package.json').version,
      load_a_ms: Math.round(loadMs),
    };

    const first = await replicate(b, url, opts.direction);
    const c1 = (await ask(server, { cmd: 'counters' }, 'counters')).counters;
    out.initial = { ms: first.ms, sent_bytes: c1.read, received_bytes: c1.written,
      docs: first.docs_written, b_doc_count: (await b.info()).doc_count };

    const ch = await ask(server, { cmd: 'change' }, 'changed');
    await ask(server, { cmd: 'counters' }, 'counters'); // nothing should flow; reset anyway
    const second = await replicate(b, url, opts.direction);
    const c2 = (await ask(server, { cmd: 'counters' }, 'counters')).counters;
    out.incremental = { ms: second.ms, sent_bytes: c2.read, received_bytes: c2.written,
      docs: second.docs_written, changed: ch.changed, b_doc_count: (await b.info()).doc_count };
    if (out.incremental.b_doc_count !== ch.doc_count) {
      throw new Error(`B has ${out.incremental.b_doc_count} docs, A ${ch.doc_count}`);
    }
    process.stdout.write(JSON.stringify(out) + '\n');
  } finally {
    if (!exited) server.send({ cmd: 'exit' });
  }
}

main().then(() => {
  if (process.env.POUCH_BENCH_ROLE !== 'server') process.exit(0);
}, (e) => {
  console.error(e && e.stack || e);
  process.exit(1);
});
