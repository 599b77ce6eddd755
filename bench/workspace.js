// Scratch-workspace backups: the backup and restore scripts of server/workspace/scripts.ts on a
// 1 GiB workspace of mixed files (text, incompressible binaries, 20,000 small files), with zstd -1
// and lz4 -1 beside plain tar (the same script with the compressor "none"), in the same run; and
// the zstd backup beside a bare `tar -cf - . | zstd -1 -T0 > file`, to show what the script adds.
// In the product the scripts run on the compute node as a Slurm job step; here they run directly
// (child_process, argv, no shell) on a folder under os.tmpdir(): the compute node of the local
// testbed (either mode) is this machine, so that is the filesystem its job steps write to.
// The page cache cannot be dropped: every figure is the median of three runs, all warm (the
// workspace just written is read from memory, so backups measure compressing and writing, not
// the disk's read speed; restores write into the page cache and are not synced, as the script
// does not sync them); `--smoke` runs once on about 20 MB.
const { execFileSync, spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { root, quantile, runStandalone } = require('./lib');

const { backupArgv, restoreArgv, BACKUP_NAME } = require(path.join(root, 'dist', 'server', 'workspace', 'scripts.js'));

const GiB = 1 << 30;
const MiB = 1 << 20;

/** mulberry32: a seeded generator, so every run writes the same text and the same sizes. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LABELS = ['cat', 'dog', 'ship', 'truck', 'frog', 'horse', 'bird', 'plane', 'deer', 'car'];
const WORDS = ['loss', 'grad', 'batch', 'model', 'layer', 'optim', 'sched', 'data', 'eval', 'token', 'step', 'norm'];

/*
 * Line makers for text-like files. Each line draws its numbers from the generator, so the text
 * compresses the way real CSV, logs and source do (digits are entropy, the rest repeats), rather
 * than as one block repeated, which any compressor would shrink to nothing.
 */
const TEXT = {
  csv: (r, i) =>
    `${i},${(i / 500) | 0},${(2.5 * Math.exp(-i / 4e5) + r() * 0.1).toFixed(6)},${r().toFixed(4)},` +
    `${(1e-3 * r()).toExponential(3)},${(r() * 12).toFixed(3)},${(r() * 1e7) | 0},${LABELS[(r() * 10) | 0]}\n`,
  log: (r, i) => {
    // Line i is logged at i ms past 08:00.
    const pad = (n, w = 2) => String(n).padStart(w, '0');
    const t = `2025-03-14T${pad(8 + (((i / 3.6e6) | 0) % 16))}:${pad(((i / 6e4) | 0) % 60)}:${pad(((i / 1000) | 0) % 60)}.${pad(i % 1000, 3)}Z`;
    const k = r();
    if (k < 0.7)
      return `${t} INFO  [rank ${(r() * 8) | 0}] step ${i} loss=${(r() * 3).toFixed(5)} lr=${(1e-3 * r()).toExponential(2)} throughput=${(800 + r() * 400).toFixed(1)} samples/s\n`;
    if (k < 0.9)
      return `${t} DEBUG [dataloader] worker ${(r() * 16) | 0} prefetched batch ${(r() * 1e5) | 0} (${(r() * 64) | 0} ms)\n`;
    return `${t} WARN  [${WORDS[(r() * WORDS.length) | 0]}] value ${r().toFixed(8)} clipped at step ${i}\n`;
  },
  json: (r, i) =>
    `{"id": ${i}, "run": "sweep-${(r() * 1e6) | 0}", "params": {"lr": ${(1e-3 * r()).toFixed(6)}, "batch": ${16 << ((r() * 4) | 0)}, "dropout": ${r().toFixed(2)}}, "score": ${r().toFixed(6)}, "tag": "${LABELS[(r() * 10) | 0]}"}\n`,
  py: (r, i) => {
    const w = WORDS[(r() * WORDS.length) | 0];
    if (i % 6 === 0) return `\ndef ${w}_${i}(x, scale=${r().toFixed(3)}):\n`;
    if (i % 6 === 5) return `    return ${w}_out  # ${w} ${(r() * 1e4) | 0}\n`;
    return `    ${w}_out = np.clip(x * ${r().toFixed(5)} + ${(r() * 100).toFixed(2)}, 0, ${(r() * 10) | 0})\n`;
  }
};

/** Writes exactly `bytes` bytes of lines from `kind`, in chunks of about 1 MiB. */
function writeText(file, kind, bytes, seed) {
  const r = prng(seed);
  const fd = fs.openSync(file, 'w');
  try {
    let left = bytes;
    let i = 0;
    while (left > 0) {
      let chunk = '';
      while (chunk.length < MiB && chunk.length < left) chunk += TEXT[kind](r, i++);
      const buf = Buffer.from(chunk.length > left ? chunk.slice(0, left) : chunk);
      fs.writeSync(fd, buf);
      left -= buf.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Random bytes in 16 MiB chunks: checkpoints and arrays, which no compressor shrinks. */
function writeRandom(file, bytes) {
  const fd = fs.openSync(file, 'w');
  try {
    for (let left = bytes; left > 0; left -= 16 * MiB) fs.writeSync(fd, crypto.randomBytes(Math.min(left, 16 * MiB)));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The workspace: 40% text-like (CSV, logs, JSON lines, Python), 35% binary (.pt, .npy), and
 * `small` files of 2–30 kB (most near the low end, as in a project tree; a third are binary
 * images) in nested folders, about 25%. Returns the number of files and their bytes.
 */
function makeWorkspace(dir, total, small) {
  const r = prng(1);
  let files = 0;
  let bytes = 0;
  const put = (rel, write, size) => {
    const file = path.join(dir, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    write(file, size);
    files++;
    bytes += size;
  };
  const text = [
    ['csv', 'data/measurements-%d.csv', 4, 0.5],
    ['log', 'logs/train-%d.log', 3, 0.3],
    ['json', 'results/sweep-%d.jsonl', 4, 0.1],
    ['py', 'src/generated/layers_%d.py', 8, 0.1]
  ];
  for (const [kind, name, count, share] of text)
    for (let k = 0; k < count; k++) {
      const size = Math.floor((total * 0.4 * share) / count);
      put(name.replace('%d', k), (f, s) => writeText(f, kind, s, 100 + files), size);
    }
  const binary = [
    ['checkpoints/model-epoch1.pt', 4],
    ['checkpoints/model-epoch2.pt', 4],
    ['checkpoints/optimizer.pt', 2],
    ['data/features-train.npy', 3],
    ['data/features-val.npy', 1],
    ['data/embeddings.npy', 1]
  ];
  for (const [name, weight] of binary) put(name, writeRandom, Math.floor((total * 0.35 * weight) / 15));
  const kinds = ['png', 'py', 'json'];
  for (let i = 0; i < small; i++) {
    const size = 2048 + Math.floor(28 * 1024 * r() ** 1.5);
    const kind = kinds[i % 3];
    const rel = `assets/group${(i / 1000) | 0}/part${((i / 50) | 0) % 20}/item${i}.${kind}`;
    put(rel, kind === 'png' ? writeRandom : (f, s) => writeText(f, kind, s, 10_000 + i), size);
  }
  return { files, bytes };
}

/** Regular files under `dir`, by path relative to it, with their sizes. */
function listFiles(dir) {
  const out = new Map();
  const walk = rel => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.set(r, fs.statSync(path.join(dir, r)).size);
    }
  };
  walk('');
  return out;
}

/** Throws unless `restored` holds the same files, of the same sizes, as `source`, and the samples match byte for byte. */
function verifyRestore(source, restored, sourceFiles, samples) {
  const got = listFiles(restored);
  const sum = m => [...m.values()].reduce((a, b) => a + b, 0);
  if (got.size !== sourceFiles.size || sum(got) !== sum(sourceFiles))
    throw new Error(
      `restore: ${got.size} files, ${sum(got)} bytes; the workspace has ${sourceFiles.size} files, ${sum(sourceFiles)} bytes`
    );
  for (const [rel, size] of sourceFiles)
    if (got.get(rel) !== size) throw new Error(`restore: ${rel} is ${got.get(rel)} bytes, not ${size}`);
  for (const rel of samples)
    if (!fs.readFileSync(path.join(source, rel)).equals(fs.readFileSync(path.join(restored, rel))))
      throw new Error(`restore: ${rel} differs from the workspace's`);
}

/** Runs argv (no shell) and returns its wall time and the JSON line it printed. */
function runScript(what, argv) {
  const t0 = process.hrtime.bigint();
  let out;
  try {
    out = execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    throw new Error(`${what} exited ${err.status ?? err.signal}: ${String(err.stderr).trim()}`);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { seconds, out: JSON.parse(out.trim().split('\n').at(-1)) };
}

/**
 * `tar -cf - . | zstd -1 -T0 > out` without a shell: tar writes into zstd's stdin, a pipe the
 * kernel carries as the shell's would (the bytes do not pass through this process). zstd is
 * spawned first and its stdin handed to tar; this process then closes its own end, or zstd
 * would never see the end of the input. Resolves with the pipeline's seconds and, apart, how
 * long an fsync of the archive then took (the script syncs its archive before naming it).
 */
function bareTarZstd(src, out) {
  return new Promise((resolve, reject) => {
    const fd = fs.openSync(out, 'w', 0o600);
    const t0 = process.hrtime.bigint();
    let tar, zstd;
    try {
      zstd = spawn('zstd', ['-q', '-1', '-T0'], { stdio: ['pipe', fd, 'inherit'] });
      tar = spawn('tar', ['-C', src, '-cf', '-', '.'], { stdio: ['ignore', zstd.stdin, 'inherit'] });
    } catch (err) {
      zstd?.kill();
      fs.closeSync(fd);
      reject(err);
      return;
    }
    zstd.stdin.destroy();
    const codes = [tar, zstd].map(
      child =>
        new Promise((res, rej) => {
          child.on('error', rej);
          child.on('close', code => res(code));
        })
    );
    Promise.all(codes)
      .then(([tarCode, zstdCode]) => {
        const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        // tar's 1 is "a file changed as it was read", as the script allows.
        if (tarCode > 1 || zstdCode !== 0) throw new Error(`bare tar|zstd: tar ${tarCode}, zstd ${zstdCode}`);
        const t1 = process.hrtime.bigint();
        fs.fsyncSync(fd);
        resolve({ seconds, fsync: Number(process.hrtime.bigint() - t1) / 1e9, bytes: fs.fstatSync(fd).size });
      })
      .catch(reject)
      .finally(() => fs.closeSync(fd));
  });
}

async function workspaceBench({ smoke = false } = {}) {
  for (const tool of ['zstd', 'lz4', 'tar'])
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch {
      throw new Error(`${tool} is not installed (scripts/bench installs it)`);
    }
  const total = smoke ? 20e6 : GiB;
  const small = smoke ? 400 : 20_000;
  const runs = smoke ? 1 : 3;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-bench-workspace-'));
  // A benchmark stopped with ^C leaves no gigabyte behind either.
  const onSignal = sig => {
    fs.rmSync(work, { recursive: true, force: true });
    process.kill(process.pid, sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const codecs = ['zstd', 'lz4', 'none'];
  const m = { bare: [], bareFsync: [] };
  for (const c of codecs) m[c] = { backup: [], restore: [] };
  let made;
  try {
    const src = path.join(work, 'workspace');
    const t0 = Date.now();
    made = makeWorkspace(src, total, small);
    process.stderr.write(
      `workspace: made ${made.files} files, ${(made.bytes / 1e6).toFixed(0)} MB in ${((Date.now() - t0) / 1000).toFixed(0)} s\n`
    );
    const sourceFiles = listFiles(src);
    // One of each kind of file, large and small, and a spread of the small ones.
    const smallOnes = [...sourceFiles.keys()].filter(n => n.startsWith('assets/'));
    const samples = [
      ...['data/measurements-0.csv', 'logs/train-0.log', 'checkpoints/optimizer.pt', 'data/embeddings.npy'],
      ...smallOnes.filter((_, i) => i % Math.ceil(smallOnes.length / 6) === 0)
    ];
    // Writes of the step before (a restore leaves a gigabyte dirty) are flushed before each
    // measurement, so none pays for another's.
    const settle = () => execFileSync('sync');
    for (let run = 0; run < runs; run++) {
      // Backups, then restores, then deleting them all: freeing gigabytes can keep the
      // filesystem busy after rm returns, which would slow whichever measurement came next. The
      // order of the compressors turns each run, so none is always measured first; the bare
      // pipeline is measured right after the zstd backup, in the same conditions.
      const order = codecs.map((_, i) => codecs[(i + run) % codecs.length]);
      const archives = {};
      for (const compressor of order) {
        const backupDir = path.join(work, `run${run}-backups-${compressor}`);
        settle();
        const b = runScript(`backup ${compressor}`, backupArgv({ dir: src, backupDir, compressor, level: 1, keep: 3 }));
        if (!BACKUP_NAME.test(b.out.name)) throw new Error(`backup: unexpected name ${b.out.name}`);
        if (b.out.sourceBytes < made.bytes) throw new Error(`backup: sourceBytes ${b.out.sourceBytes} < ${made.bytes}`);
        if (b.out.bytes !== fs.statSync(path.join(backupDir, b.out.name)).size)
          throw new Error(`backup: reported ${b.out.bytes} bytes, the file has others`);
        m[compressor].backup.push(b.seconds);
        Object.assign(m[compressor], { bytes: b.out.bytes, sourceBytes: b.out.sourceBytes });
        archives[compressor] = { backupDir, name: b.out.name };
        if (compressor !== 'zstd') continue;
        settle();
        const bare = await bareTarZstd(src, path.join(work, `run${run}-bare.tar.zst`));
        m.bare.push(bare.seconds);
        m.bareFsync.push(bare.fsync);
        m.bareBytes = bare.bytes;
      }
      for (const compressor of order) {
        const { backupDir, name } = archives[compressor];
        const restored = path.join(work, `run${run}-restored-${compressor}`);
        settle();
        const r = runScript(`restore ${compressor}`, restoreArgv({ dir: restored, backupDir }, name));
        if (r.out.name !== name) throw new Error(`restore: restored ${r.out.name}, not ${name}`);
        m[compressor].restore.push(r.seconds);
        verifyRestore(src, restored, sourceFiles, samples);
      }
      for (const f of fs.readdirSync(work))
        if (f.startsWith(`run${run}-`)) fs.rmSync(path.join(work, f), { recursive: true, force: true });
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    fs.rmSync(work, { recursive: true, force: true });
  }

  const med = values => quantile(values, 0.5);
  const s = x => `${x.toFixed(2)} s`;
  const mbps = (bytes, sec) => `${(bytes / 1e6 / sec).toFixed(0)} MB/s`;
  const vs = (o, p) => (o <= p ? `${(p / o).toFixed(2)}× faster` : `${(o / p).toFixed(2)}× slower`);
  const ratio = c => m[c].sourceBytes / m[c].bytes;
  const size = `${(made.bytes / 1e6).toFixed(0)} MB in ${made.files} files`;
  // The spread says how far to trust a median: on a shared machine others' work slows some runs.
  const spread = values => `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)} s`;
  const which = (ours, peer) =>
    runs > 1 ? `median of ${runs} (ours ${spread(ours)}, peer ${spread(peer)})` : 'one run';
  const row = (step, c) => {
    const o = med(m[c][step]);
    const p = med(m.none[step]);
    return {
      subject: `workspace ${step} ${c}-1`,
      ours: s(o),
      peer: s(p),
      ratio: vs(o, p),
      note:
        `${which(m[c][step], m.none[step])}; peer: plain tar (compressor none); ` +
        `${size}; ${mbps(m[c].sourceBytes, o)} vs ${mbps(m.none.sourceBytes, p)}`
    };
  };
  const mb = b => `${(b / 1e6).toFixed(0)} MB`;
  return [
    row('backup', 'zstd'),
    row('backup', 'lz4'),
    row('restore', 'zstd'),
    row('restore', 'lz4'),
    {
      subject: 'workspace compression (source / archive)',
      ours: `zstd-1 ${ratio('zstd').toFixed(2)}×, lz4-1 ${ratio('lz4').toFixed(2)}×`,
      peer: `tar ${ratio('none').toFixed(2)}×`,
      ratio: `zstd archive ${(m.lz4.bytes / m.zstd.bytes).toFixed(2)}× smaller than lz4's`,
      note: `archives: zstd ${mb(m.zstd.bytes)}, lz4 ${mb(m.lz4.bytes)}, tar ${mb(m.none.bytes)}, of ${mb(m.zstd.sourceBytes)} (du -sb)`
    },
    {
      subject: 'backup script vs bare tar|zstd',
      ours: s(med(m.zstd.backup)),
      peer: s(med(m.bare)),
      ratio: vs(med(m.zstd.backup), med(m.bare)),
      note:
        `${which(m.zstd.backup, m.bare)}; zstd -1 -T0 both; ` +
        'ours also runs bash, du -sb and an fsync of the archive ' +
        `(the peer's fsync, apart: ${s(med(m.bareFsync))}); peer archive ${mb(m.bareBytes)}`
    }
  ];
}

runStandalone(module, workspaceBench);

module.exports = { workspaceBench };
