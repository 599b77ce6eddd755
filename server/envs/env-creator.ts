import type { EnvConfig, HpclabConfig } from '../config/schema';
import type { AddKernelRequest } from '../kernels/kernelspec-service';
import { silentLogger, type Logger } from '../log';
import type { Transport } from '../transport/types';
import { EnvInputError, kernelEnvOf, planEnv, type CreateEnvRequest, type EnvPlan } from './env-input';
import {
  createArgv,
  ipykernelCheckArgv,
  parseTarget,
  pipInstallArgv,
  PREPARE_EXIT,
  prepareArgv,
  REQUIREMENTS_FILE,
  rollbackArgv
} from './env-scripts';
import { streamStep, TAIL_LINES, type StepResult } from './stream-step';

/*
 * Makes a Python environment on a cluster's login node and registers it as a kernel: what a
 * researcher does by hand today (`python -m venv`, `pip install ipykernel`, `ipykernel install
 * --prefix` with absolute paths). The login node, because compute nodes often have no
 * internet. All or nothing: a failed step removes the directory this run made, and the
 * kernelspec is written last, so a failure never leaves a kernel that cannot start.
 */

export type EnvStep = 'prepare' | 'create' | 'ipykernel' | 'requirements' | 'register' | 'rollback';

/** What a caller sees while an env is made: each step as it starts, and every line it prints. */
export type EnvProgress =
  { type: 'step'; step: EnvStep; message: string } | { type: 'output'; step: EnvStep; line: string };

export interface CreatedEnv {
  cluster: string;
  name: string;
  kind: 'venv' | 'conda';
  /** The env's directory on the cluster, absolute. */
  path: string;
  /** How the kernel activates it (config.json's words). */
  env: EnvConfig;
  kernelspec: { name: string; displayName: string; path: string; created: boolean };
  /** Whether ipykernel had to be installed (it was not importable in the new env). */
  installedIpykernel: boolean;
  seconds: number;
}

/** A step that failed; `tail` holds the last lines it printed (pip's reason is there). */
export class EnvCreateError extends Error {
  name = 'EnvCreateError';
  constructor(
    readonly step: EnvStep,
    /** What went wrong, without the tail. */
    readonly reason: string,
    readonly tail: string[] = [],
    /** Whether what the failed run made on the cluster was removed again. */
    readonly rolledBack = true
  ) {
    super(tail.length > 0 ? `${reason}\n${tail.map(l => `  ${l}`).join('\n')}` : reason);
  }
}

export interface EnvCreatorOptions {
  config: HpclabConfig;
  transport: (cluster: string) => Transport;
  /** Registers the kernel as `hpclab kernels add` does (KernelspecService). */
  kernelspecs: {
    add(request: AddKernelRequest): Promise<{ name: string; displayName: string; path: string; created: boolean }>;
  };
  logger?: Logger;
}

export interface CreateOptions {
  onProgress?: (event: EnvProgress) => void;
  /** Ends the running step and rolls back (the CLI's Ctrl-C, an API client that went away). */
  signal?: AbortSignal;
}

export class EnvCreator {
  private readonly log: Logger;

  constructor(private readonly o: EnvCreatorOptions) {
    this.log = o.logger ?? silentLogger;
  }

  /** Checks a request and fills in its defaults, asking nothing of the cluster (EnvInputError, ConfigError). */
  plan(request: CreateEnvRequest): EnvPlan {
    return planEnv(this.o.config, request);
  }

  async create(plan: EnvPlan, options: CreateOptions = {}): Promise<CreatedEnv> {
    const started = Date.now();
    const transport = this.o.transport(plan.cluster);
    const report = options.onProgress ?? (() => undefined);
    const step = (name: EnvStep, message: string) => report({ type: 'step', step: name, message });
    const stream = async (name: EnvStep, argv: string[]): Promise<StepResult> => {
      const result = await streamStep(
        transport,
        argv,
        line => report({ type: 'output', step: name, line }),
        options.signal
      );
      if (result.aborted) throw new EnvCreateError(name, 'cancelled', result.tail);
      return result;
    };

    step('prepare', `checking ${plan.path} on ${plan.cluster}'s login node`);
    const { dir, existed } = await this.prepare(transport, plan);
    const where = `${plan.cluster}:${dir}`;
    let installedIpykernel = false;
    try {
      step('create', plan.kind === 'conda' ? `conda create --prefix ${dir}` : `${plan.python} -m venv ${dir}`);
      const made = await stream('create', createArgv(plan, dir));
      if (made.code !== 0)
        throw new EnvCreateError('create', `could not make the ${plan.kind} at ${where} (${exitOf(made)})`, made.tail);

      step('ipykernel', 'checking whether ipykernel is importable in the new env');
      const check = await transport.exec(ipykernelCheckArgv(plan, dir), { timeoutMs: 120_000 });
      if (check.code !== 0) {
        step('ipykernel', 'installing ipykernel (it is not importable in the new env)');
        const pip = await stream('ipykernel', pipInstallArgv(plan, dir, { packages: ['ipykernel'] }));
        if (pip.code !== 0)
          throw new EnvCreateError(
            'ipykernel',
            `pip could not install ipykernel in ${where} (${exitOf(pip)}); without a package index, make the env with --system-site-packages from a python that has ipykernel`,
            pip.tail
          );
        installedIpykernel = true;
      }

      if (plan.requirements !== undefined) {
        const file = `${dir}/${REQUIREMENTS_FILE}`;
        step('requirements', `pip install -r ${file}`);
        await transport.writeFile(file, plan.requirements, { mode: 0o644 });
        const pip = await stream('requirements', pipInstallArgv(plan, dir, { file }));
        if (pip.code !== 0)
          throw new EnvCreateError(
            'requirements',
            `pip could not install the requirements in ${where} (${exitOf(pip)})`,
            pip.tail
          );
      }
      if (options.signal?.aborted) throw new EnvCreateError('register', 'cancelled');

      const env = kernelEnvOf(plan, dir);
      step('register', `registering the kernel with profile ${plan.profile}`);
      const spec = await this.o.kernelspecs.add({
        profile: plan.profile,
        // Only when the profile is another cluster's: the kernel must run where the env is.
        ...(this.o.config.profiles?.[plan.profile]?.cluster !== plan.cluster ? { cluster: plan.cluster } : {}),
        env
      });
      const seconds = Math.round((Date.now() - started) / 100) / 10;
      this.log.info(`made ${plan.kind} ${where} in ${seconds} s, kernel ${spec.name}`);
      return {
        cluster: plan.cluster,
        name: plan.name,
        kind: plan.kind,
        path: dir,
        env,
        kernelspec: { name: spec.name, displayName: spec.displayName, path: spec.path, created: spec.created },
        installedIpykernel,
        seconds
      };
    } catch (err) {
      const rolledBack = await this.rollback(transport, dir, existed, report);
      this.log.warn(
        `making ${plan.kind} ${where} failed${rolledBack ? '' : ' (and its directory could not be removed)'}`,
        err
      );
      if (rolledBack) throw err;
      const failed = err instanceof EnvCreateError ? err : undefined;
      throw new EnvCreateError(
        failed?.step ?? 'create',
        leftBehind(failed?.reason ?? (err instanceof Error ? err.message : String(err)), dir),
        failed?.tail ?? [],
        false
      );
    }
  }

  /** Checks the tools and makes the target directory; refusals name the field to change. */
  private async prepare(transport: Transport, plan: EnvPlan): Promise<{ dir: string; existed: boolean }> {
    const r = await transport.exec(prepareArgv(plan), { timeoutMs: 120_000 });
    const said = r.stdout.trim().split('\n').slice(-TAIL_LINES);
    const last = said.at(-1) ?? '';
    switch (r.code) {
      case 0: {
        const target = parseTarget(r.stdout);
        if (target) return target;
        throw new EnvCreateError('prepare', 'the login node did not say where the env goes', said);
      }
      case PREPARE_EXIT.notEmpty:
      case PREPARE_EXIT.notDirectory:
        throw new EnvInputError(
          'path',
          `${last.replace(/^hpclab: /, '')} on ${plan.cluster}: pick another name, or give a path to a new or empty directory (--path)`
        );
      case PREPARE_EXIT.noConda:
        throw new EnvInputError(
          'conda',
          `conda is not on ${plan.cluster}'s login node: load it with --module (e.g. a miniforge module), or leave out --conda to make a venv`
        );
      case PREPARE_EXIT.activation:
        throw new EnvInputError(
          plan.module !== undefined && /module/.test(last) ? 'module' : 'python',
          `${last.replace(/^hpclab: /, '')} (${plan.cluster}'s login node)`
        );
      default:
        throw new EnvCreateError('prepare', `could not prepare ${plan.path} on ${plan.cluster} (${exitOf(r)})`, said);
    }
  }

  /** Removes what this run made; false when that failed (the message then says what is left). */
  private async rollback(
    transport: Transport,
    dir: string,
    existed: boolean,
    report: (event: EnvProgress) => void
  ): Promise<boolean> {
    report({ type: 'step', step: 'rollback', message: existed ? `emptying ${dir} again` : `removing ${dir}` });
    try {
      const r = await transport.exec(rollbackArgv(dir, existed), { timeoutMs: 300_000 });
      if (r.code === 0) return true;
      this.log.warn(`could not remove ${dir} (exit ${r.code}): ${r.stdout}${r.stderr}`);
    } catch (err) {
      // The link may be what failed the create: the message says the directory is left.
      this.log.warn(`could not remove ${dir}`, err);
    }
    return false;
  }
}

function exitOf(r: { code: number | null; signal: string | null }): string {
  return r.code !== null ? `exit ${r.code}` : `killed by ${r.signal ?? 'a signal'}`;
}

function leftBehind(reason: string, dir: string): string {
  return `${reason}; the directory ${dir} could not be removed: remove it by hand before trying again`;
}
