#!/usr/bin/env node
// Reads the JSON lines written by scripts/bench_peer_vs_pouchdb.sh (one per setup and run) and prints
// Markdown tables: time median (min-max), bytes each way (from B's side), and Timbang / PouchDB ratios.
//   node table.js RESULTS.jsonl
'use strict';

const fs = require('fs');

const LABELS = {
  timbang: 'Timbang (sealed TCP, SQLite on disk)',
  'per-visit pull gzip': 'PouchDB, doc per child + doc per visit (CHT), pull',
  'per-visit sync gzip': 'PouchDB, doc per child + doc per visit (CHT), sync both ways',
  'embedded pull gzip': 'PouchDB, one doc per child (visits embedded), pull',
  'embedded sync gzip': 'PouchDB, one doc per child (visits embedded), sync both ways',
  'per-visit pull plain': 'PouchDB, doc per child + doc per visit, pull, no gzip',
  'embedded pull plain': 'PouchDB, one doc per child, pull, no gzip',
  'per-visit sync plain': 'PouchDB, doc per child + doc per visit, sync, no gzip',
  'embedded sync plain': 'PouchDB, one doc per child, sync, no gzip',
};

function key(r) {
  return r.setup === 'timbang' ? 'timbang'
    : `${r.model} ${r.direction} ${r.gzip === 'on' ? 'gzip' : 'plain'}`;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function fmtMs(ms) {
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

function fmtTime(xs) {
  return `**${fmtMs(median(xs))}** (${fmtMs(Math.min(...xs))}-${fmtMs(Math.max(...xs))})`;
}

function fmtBytes(n) {
  return Math.round(n).toLocaleString('en-US');
}

function fmtTraffic(rows, phase) {
  const s = median(rows.map((r) => r[phase].sent_bytes));
  const g = median(rows.map((r) => r[phase].received_bytes));
  return `${fmtBytes(s + g)} (${fmtBytes(s)} + ${fmtBytes(g)})`;
}

function ratio(a, b) {
  const r = a / b;
  return r >= 10 ? r.toFixed(0) : r >= 1 ? r.toFixed(1) : r.toFixed(2);
}

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.trim());
const groups = new Map();
for (const l of lines) {
  const r = JSON.parse(l);
  const k = key(r);
  if (!groups.has(k)) groups.set(k, []);
  groups.get(k).push(r);
}

const out = [];
out.push('| setup | runs | first sync: time | first sync: bytes, total (B sent + B received) | after 50 changed: time | after 50 changed: bytes |');
out.push('| --- | --- | --- | --- | --- | --- |');
for (const [k, rows] of groups) {
  out.push(`| ${LABELS[k] || k} | ${rows.length} | ${fmtTime(rows.map((r) => r.initial.ms))} | ` +
    `${fmtTraffic(rows, 'initial')} | ${fmtTime(rows.map((r) => r.incremental.ms))} | ` +
    `${fmtTraffic(rows, 'incremental')} |`);
}

const t = groups.get('timbang');
if (t) {
  const med = (rows, phase, f) => median(rows.map((r) => f(r[phase])));
  const ms = (x) => x.ms;
  const bytes = (x) => x.sent_bytes + x.received_bytes;
  out.push('');
  out.push('Ratios Timbang / PouchDB (medians; time < 1 means Timbang is faster, bytes < 1 means fewer):');
  out.push('');
  out.push('| against | first sync: time | first sync: bytes | after 50 changed: time | after 50 changed: bytes |');
  out.push('| --- | --- | --- | --- | --- |');
  for (const [k, rows] of groups) {
    if (k === 'timbang') continue;
    const cell = (phase, f) => ratio(med(t, phase, f), med(rows, phase, f));
    out.push(`| ${LABELS[k] || k} | ${cell('initial', ms)} | ${cell('initial', bytes)} | ` +
      `${cell('incremental', ms)} | ${cell('incremental', bytes)} |`);
  }
}
process.stdout.write(out.join('\n') + '\n');
