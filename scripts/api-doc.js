#!/usr/bin/env node
// `npm run api:doc`: writes docs/openapi.json from the built companion's route contracts.
const fs = require('node:fs');
const path = require('node:path');
const { openApiText } = require('../dist/server/api/openapi');

const out = path.join(__dirname, '..', 'docs', 'openapi.json');
fs.writeFileSync(out, openApiText());
process.stdout.write(`wrote ${path.relative(process.cwd(), out)}\n`);
