import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { parseKernelFlag } from '../../../server/cli/commands/kernel-launch';
import { UsageError } from '../../../server/cli/context';
import { configSchema } from '../../../server/config/schema';
import { parseDiscovery } from '../../../server/kernels/discovery';
import { discoveryArgv } from '../../../server/kernels/discovery-script';
import { matchKernel, parseKernelspecLine, toRemoteSpec } from '../../../server/kernels/discovery-kernelspecs';
import { KernelspecService } from '../../../server/kernels/kernelspec-service';
import { listKernelspecs } from '../../../server/kernels/kernelspec';
import { logoPng, PNG_SIGNATURE } from '../../../server/kernels/logo';
import {
  boundConnectionFile,
  InterruptWatch,
  interruptStepArgv,
  looksLikeIpykernel,
  renderKernelCommand,
  type RemoteKernelSpec
} from '../../../server/kernels/remote-kernel';
import { renderEnvActivation } from '../../../server/sessions/env-activation';
import type { Transport } from '../../../server/transport/types';

const run = promisify(execFile);
let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'hpclab-any-kernel-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** IRkernel's kernel.json as a conda env installs it, with the spacing and line breaks it has. */
const IR_JSON = `{"argv": ["{prefix}/bin/R", "--slave", "-e", "IRkernel::main()", "--args", "{connection_file}"],
 "display_name":"R",
\t"language":"R"
}
`;

/** A venv (no python needed for listing kernelspecs: the fake python fails) holding kernelspecs. */
function envWithKernels(prefix: string): void {
  fs.mkdirSync(path.join(prefix, 'bin'), { recursive: true });
  fs.writeFileSync(path.join(prefix, 'pyvenv.cfg'), 'home = /usr/bin\n');
  fs.writeFileSync(path.join(prefix, 'bin', 'python'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  const kernels = path.join(prefix, 'share', 'jupyter', 'kernels');
  const spec = (name: string, json: string, logo = false) => {
    fs.mkdirSync(path.join(kernels, name), { recursive: true });
    fs.writeFileSync(path.join(kernels, name, 'kernel.json'), json);
    if (logo) fs.writeFileSync(path.join(kernels, name, 'logo-64x64.png'), logoPng(64));
  };
  spec('ir', IR_JSON.replace('{prefix}', prefix), true);
  spec(
    'julia-1.10',
    JSON.stringify({
      argv: ['julia', '-i', '--color=yes', '{resource_dir}/kernel.jl', '{connection_file}'],
      display_name: 'Julia 1.10',
      language: 'julia',
      interrupt_mode: 'message',
      env: { JULIA_NUM_THREADS: '4' }
    })
  );
  spec('broken', '{"argv": ["R", ');
  spec('no-cf', JSON.stringify({ argv: ['R'], display_name: 'R', language: 'R' }));
  spec(
    'bad-env',
    JSON.stringify({ argv: ['x', '{connection_file}'], display_name: 'x', language: 'x', env: { 'A-B': '1' } })
  );
}

describe('kernelspecs inside envs, through the discovery script', () => {
  it('lists each env kernel.json with its fields and logo, and reports broken ones by path', async () => {
    const home = path.join(root, 'home');
    const prefix = path.join(home, 'venvs', 'rproj');
    envWithKernels(prefix);
    fs.mkdirSync(path.join(root, 'tmp'));
    const argv = discoveryArgv({ venvRoots: ['~/venvs'], moduleNames: false });
    const { stdout, stderr } = await run('/bin/sh', argv.slice(1), {
      env: { HOME: home, PATH: '/usr/bin:/bin', TMPDIR: path.join(root, 'tmp') }
    });
    expect(stderr).toBe('');
    const [env] = parseDiscovery(stdout);
    expect(env.name).toBe('rproj');
    expect(env.kernels.map(k => k.name)).toEqual(['ir', 'julia-1.10']);
    expect(env.kernels[0]).toEqual({
      name: 'ir',
      displayName: 'R',
      language: 'R',
      argv: [`${prefix}/bin/R`, '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'],
      interruptMode: 'signal', // IRkernel says nothing: Jupyter's default
      env: {},
      hasLogo: true,
      resourceDir: `${prefix}/share/jupyter/kernels/ir`
    });
    expect(env.kernels[1]).toMatchObject({ interruptMode: 'message', env: { JULIA_NUM_THREADS: '4' }, hasLogo: false });
    const broken = Object.fromEntries(env.brokenKernels.map(b => [path.basename(path.dirname(b.path)), b]));
    expect(Object.keys(broken).sort()).toEqual(['bad-env', 'broken', 'no-cf']);
    expect(broken.broken.path).toBe(`${prefix}/share/jupyter/kernels/broken/kernel.json`);
    expect(broken.broken.problem).toMatch(/^not JSON/);
    expect(broken['no-cf'].problem).toMatch(/\{connection_file\}/);
    expect(broken['bad-env'].problem).toMatch(/env: names/);
  });

  it('skips malformed lines, reports an unreadable file, and says which kernels an env has', () => {
    expect(parseKernelspecLine('kernelspec\trelative\tir\t0\t{}')).toBeUndefined();
    expect(parseKernelspecLine('kernelspec\t/p\tir\t2\t{}')).toBeUndefined();
    expect(parseKernelspecLine('kernelspec\t/p\tir\t0\t')).toEqual({
      prefix: '/p',
      result: { path: '/p/share/jupyter/kernels/ir/kernel.json', problem: 'unreadable, empty or larger than 64 KiB' }
    });
    const env = {
      name: 'rproj',
      kernels: [],
      brokenKernels: [{ path: '/p/share/jupyter/kernels/x/kernel.json', problem: 'not JSON' }]
    };
    expect(() => matchKernel(env, 'ir')).toThrow(/no kernel "ir" in rproj \(it has no kernelspecs/);
    expect(() => matchKernel(env, 'x')).toThrow(/cannot be used: .*x\/kernel.json: not JSON/);
  });
});

const IR: RemoteKernelSpec = {
  name: 'ir',
  argv: ['R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'],
  language: 'R',
  interruptMode: 'signal'
};

describe('kernel-launch --kernel', () => {
  it('accepts what kernels add records', () => {
    expect(parseKernelFlag(JSON.stringify({ ...IR, env: { R_LIBS_USER: '~/R' }, resourceDir: '/e/k/ir' }))).toEqual({
      ...IR,
      env: { R_LIBS_USER: '~/R' },
      resourceDir: '/e/k/ir'
    });
  });

  it.each([
    ['not JSON', '{', /--kernel: expected JSON like/],
    ['no {connection_file}', JSON.stringify({ ...IR, argv: ['R'] }), /--kernel: argv: must pass \{connection_file\}/],
    [
      'a NUL in a word',
      JSON.stringify({ ...IR, argv: ['R\0', '{connection_file}'] }),
      /argv\.0: argv words cannot hold/
    ],
    ['a line break', JSON.stringify({ ...IR, argv: ['R\n', '{connection_file}'] }), /argv words cannot hold/],
    ['65 words', JSON.stringify({ ...IR, argv: [...Array(64).fill('x'), '{connection_file}'] }), /at most 64 words/],
    ['no words', JSON.stringify({ ...IR, argv: [] }), /at least one word/],
    ['an unsafe env name', JSON.stringify({ ...IR, env: { 'LD_PRELOAD;x': 'y' } }), /env: names are letters/],
    ['a relative resourceDir', JSON.stringify({ ...IR, resourceDir: 'k/ir' }), /resourceDir: an absolute path/],
    ['an unknown field', JSON.stringify({ ...IR, shell: 'sh -c' }), /--kernel: .*shell/]
  ])('refuses %s, naming the flag and the fix', (_what, text, message) => {
    let error: unknown;
    try {
      parseKernelFlag(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^--kernel: /);
  });
});

describe('kernels add --kernel (KernelspecService)', () => {
  const config = configSchema.parse({
    clusters: { testbed: { local: true } },
    profiles: { cpu: { cluster: 'testbed', cpus: 2, time: '01:00:00' } }
  });
  const kernel = {
    name: 'ir',
    displayName: 'R',
    language: 'R',
    argv: ['/e/bin/R', '--slave', '-e', 'IRkernel::main()', '--args', '{connection_file}'],
    interruptMode: 'signal' as const,
    env: {},
    hasLogo: true,
    resourceDir: '/e/share/jupyter/kernels/ir'
  };
  const remoteLogo = Buffer.concat([PNG_SIGNATURE, Buffer.from('R logo')]);
  const transport = (files: Record<string, Buffer>) =>
    ({
      readFile: async (file: string) => {
        if (!(file in files)) throw new Error(`${file}: no such file`);
        return files[file];
      }
    }) as unknown as Transport;

  it('writes the remote display name, language and logo, and records the kernel for kernel-launch', async () => {
    const dir = path.join(root, 'kernels');
    const warnings: string[] = [];
    const service = new KernelspecService({
      config,
      kernelsDir: dir,
      hpclab: ['/usr/bin/node', '/opt/hpclab/main.js'],
      transport: () => transport({ '/e/share/jupyter/kernels/ir/logo-64x64.png': remoteLogo }),
      warn: m => warnings.push(m)
    });
    const spec = await service.add({ profile: 'cpu', env: { venv: '/e' }, kernel });
    const json = JSON.parse(fs.readFileSync(path.join(spec.path, 'kernel.json'), 'utf8'));
    expect(json.display_name).toBe('R (venv e) · 2 CPUs · 1 h · testbed');
    expect(json.language).toBe('R');
    expect(json.interrupt_mode).toBe('message'); // the remote signal is sent on the node (metadata says so)
    expect(json.metadata.debugger).toBeUndefined();
    expect(json.metadata.hpclab.kernel).toEqual({ ...toRemoteSpec(kernel) });
    expect(json.metadata.hpclab.kernel.interruptMode).toBe('signal');
    const k = json.argv.indexOf('--kernel');
    expect(k).toBeGreaterThan(0);
    expect(parseKernelFlag(json.argv[k + 1])).toEqual(toRemoteSpec(kernel));
    // Jupyter substitutes {connection_file} in every word: only the last may hold it.
    expect(json.argv.filter((w: string) => /\{[A-Za-z0-9_]+\}/.test(w))).toEqual(['{connection_file}']);
    expect(json.argv.at(-1)).toBe('{connection_file}');
    expect(fs.readdirSync(spec.path).sort()).toEqual(['kernel.json', 'logo-64x64.png']);
    expect(fs.readFileSync(path.join(spec.path, 'logo-64x64.png'))).toEqual(remoteLogo);
    expect(warnings).toEqual([]);
    // Listed with its language and kernel; a spec without --kernel keeps its own name.
    const [listed] = await listKernelspecs(dir);
    expect(listed).toMatchObject({ language: 'R', metadata: { kernel: { name: 'ir' } } });
    const python = await service.add({ profile: 'cpu', env: { venv: '/e' } });
    expect(python.name).not.toBe(spec.name);
  });

  it("falls back to hpclab's logo with a warning, and re-adding updates the same spec", async () => {
    const dir = path.join(root, 'kernels');
    const warnings: string[] = [];
    const options = {
      config,
      kernelsDir: dir,
      hpclab: ['node', '/opt/main.js'],
      warn: (m: string) => warnings.push(m)
    };
    const first = await new KernelspecService({ ...options, transport: () => transport({}) }).add({
      profile: 'cpu',
      env: { venv: '/e' },
      kernel
    });
    expect(warnings[0]).toMatch(/cannot copy \/e\/share\/jupyter\/kernels\/ir\/logo-64x64.png .*hpclab's logo/);
    expect(fs.readdirSync(first.path).sort()).toEqual([
      'kernel.json',
      'logo-32x32.png',
      'logo-64x64.png',
      'logo-svg.svg'
    ]);
    const again = await new KernelspecService({
      ...options,
      transport: () => transport({ '/e/share/jupyter/kernels/ir/logo-64x64.png': remoteLogo })
    }).add({ profile: 'cpu', env: { venv: '/e' }, kernel: { ...kernel, argv: ['/e/bin/R', '{connection_file}'] } });
    expect(again).toMatchObject({ name: first.name, created: false });
    // hpclab's svg would hide the kernel's own logo in the launcher.
    expect(fs.readdirSync(again.path).sort()).toEqual(['kernel.json', 'logo-64x64.png']);
  });
});

describe('the kernel step command', () => {
  /** A fake kernel: prints its argv (one per line) and two variables, as R would print its output. */
  function fakeKernel(dir: string): string {
    const file = path.join(dir, 'fake-kernel');
    fs.writeFileSync(file, '#!/bin/sh\nfor a in "$@"; do echo "arg:$a"; done\necho "env:$GREETING|$EMPTY"\n', {
      mode: 0o755
    });
    return file;
  }

  const bash = async (script: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    run('/bin/bash', ['-c', script, 'bash', ...args], { env: { PATH: '/usr/bin:/bin', HOME: root, ...env } });

  it('runs the env kernel with {connection_file} and {resource_dir} filled in, every word as given', async () => {
    const venv = path.join(root, 'venv');
    fs.mkdirSync(path.join(venv, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(venv, 'bin', 'activate'), 'export VIRTUAL_ENV=1\n'); // no python in it: an R env
    const program = fakeKernel(root);
    const hostile = `it's $(touch ${root}/pwned) \`id\` "q" ;|&`;
    const log = path.join(root, 'kernel.log');
    const { script, args } = renderKernelCommand({
      kernel: {
        ...IR,
        argv: [program, '--cf={connection_file}', '{resource_dir}/kernel.jl', hostile, '{other}'],
        env: { GREETING: hostile, EMPTY: '' },
        resourceDir: '/e/k dir/ir'
      },
      activation: renderEnvActivation({ venv }),
      connectionFile: '/s/kernel-1.json',
      log,
      ipykernel: ['python3', '-c', 'x', '-f']
    });
    expect(script).not.toContain(hostile); // values are arguments or quoted words, never script text
    await bash(script, args);
    expect(fs.readFileSync(log, 'utf8').split('\n')).toEqual([
      'arg:--cf=/s/kernel-1.json',
      'arg:/e/k dir/ir/kernel.jl',
      `arg:${hostile}`,
      'arg:{other}',
      `env:${hostile}|`,
      ''
    ]);
    expect(fs.existsSync(path.join(root, 'pwned'))).toBe(false);
  });

  it('says in the log when the kernel program is missing, and exits 3', async () => {
    const log = path.join(root, 'kernel.log');
    const { script, args } = renderKernelCommand({
      kernel: { ...IR, argv: ['/nonexistent/R', '{connection_file}'] },
      activation: renderEnvActivation(undefined),
      connectionFile: '/s/k.json',
      log,
      ipykernel: []
    });
    await expect(bash(script, args)).rejects.toMatchObject({
      code: 3,
      stderr: expect.stringContaining('the kernel program /nonexistent/R is not found')
    });
  });

  it("keeps today's ipykernel start when no kernel is given", async () => {
    const activation = renderEnvActivation(undefined);
    const { script, args } = renderKernelCommand({
      kernel: undefined,
      activation,
      connectionFile: '/s/k.json',
      log: '/s/kernel.log',
      ipykernel: [...activation.python, '-c', 'BOOT', '-f']
    });
    expect(script).toContain('export PYDEVD_DISABLE_FILE_VALIDATION=1');
    expect(script).toContain("command -v 'python3'"); // ipykernel needs its python
    expect(args).toEqual(['/s/kernel.log', 'python3', '-c', 'BOOT', '-f', '/s/k.json']);
  });

  it('refuses {resource_dir} without a known directory', () => {
    expect(() =>
      renderKernelCommand({
        kernel: { ...IR, argv: ['julia', '{resource_dir}/k.jl', '{connection_file}'] },
        activation: renderEnvActivation(undefined),
        connectionFile: '/s/k.json',
        log: '/s/l',
        ipykernel: []
      })
    ).toThrow(/\{resource_dir\}.*hpclab kernels add --env E --kernel ir/);
  });
});

describe('connection files and interrupts for kernels that bind what they are told', () => {
  const local = { key: 'k3y', signature_scheme: 'hmac-sha256' };

  it('names the five ipc sockets <prefix>-1..5, or picks five distinct TCP ports', () => {
    expect(JSON.parse(boundConnectionFile(local, { ipcPrefix: '/s/sock/k1' }))).toEqual({
      shell_port: 1,
      iopub_port: 2,
      stdin_port: 3,
      control_port: 4,
      hb_port: 5,
      ip: '/s/sock/k1',
      key: 'k3y',
      transport: 'ipc',
      signature_scheme: 'hmac-sha256',
      kernel_name: ''
    });
    const picks = [50000, 50000, 50001, 50002, 50003, 50004];
    const tcp = JSON.parse(boundConnectionFile(local, { host: '127.0.0.1' }, () => picks.shift()!));
    expect([tcp.shell_port, tcp.iopub_port, tcp.stdin_port, tcp.control_port, tcp.hb_port]).toEqual([
      50000, 50001, 50002, 50003, 50004
    ]);
    expect(tcp).toMatchObject({ transport: 'tcp', ip: '127.0.0.1' });
  });

  it('counts interrupt requests once each, across chunk boundaries, and not words in other messages', () => {
    const watch = new InterruptWatch();
    const msg = Buffer.from('<IDS|MSG>sig{"msg_id":"1","msg_type":"interrupt_request","version":"5.3"}{}{}{}');
    expect(watch.feed(msg.subarray(0, 30))).toBe(0);
    expect(watch.feed(msg.subarray(30))).toBe(1);
    expect(watch.feed(Buffer.from('{"msg_type": "debug_request"}{"expression": "interrupt_request"}'))).toBe(0);
    expect(watch.feed(Buffer.concat([msg, msg]))).toBe(2);
    expect(interruptStepArgv(['12.3'])).toEqual(['scancel', '--signal=INT', '12.3']);
    expect(() => interruptStepArgv(['12; rm'])).toThrow(/job step ids/);
    expect(looksLikeIpykernel(['python', '-m', 'ipykernel_launcher', '-f', '{connection_file}'])).toBe(true);
    expect(looksLikeIpykernel(IR.argv)).toBe(false);
  });
});
