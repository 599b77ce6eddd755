// tsc drops the executable bit; the `hpclab` bin needs it when run from a checkout.
const fs = require('node:fs');
for (const file of process.argv.slice(2)) fs.chmodSync(file, 0o755);
