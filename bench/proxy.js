#!/usr/bin/env node
// The proxy benchmarks (no testbed needed: everything runs on loopback): HTTP, WebSocket and
// leaks, ours beside configurable-http-proxy and the backend itself. `--smoke` runs each
// briefly (CI proves they still work; the figures mean nothing).
const { printTable } = require('./lib');
const { httpProxyBench } = require('./http-proxy');
const { wsProxyBench } = require('./ws-proxy');
const { leaksBench } = require('./leaks');

async function proxyBench({ smoke = false } = {}) {
  return [...(await httpProxyBench({ smoke })), ...(await wsProxyBench({ smoke })), ...(await leaksBench({ smoke }))];
}

module.exports = { proxyBench };

if (require.main === module) {
  proxyBench({ smoke: process.argv.includes('--smoke') }).then(printTable, err => {
    console.error(`bench: ${err.stack}`);
    process.exitCode = 1;
  });
}
