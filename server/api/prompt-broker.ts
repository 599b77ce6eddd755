import { randomBytes } from 'node:crypto';
import type { Prompter, PromptRequest } from '../transport/types';

/** What the UI is sent: one SSH question set to answer (a 2FA code, a key passphrase). */
export interface PromptEvent {
  type: 'prompt';
  id: string;
  cluster: string;
  kind: PromptRequest['kind'];
  name: string;
  instructions: string;
  prompts: { prompt: string; echo: boolean }[];
}

export type PromptBrokerEvent = PromptEvent | { type: 'prompt-done'; id: string; answered: boolean };

interface Pending {
  request: PromptEvent;
  resolve(answers: string[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * Hands SSH login prompts to the browser: the question goes out as a live event, the answer
 * comes back through POST /api/prompts/:prompt. With no browser listening, the fallback asks
 * (the terminal, or an error that says nobody could answer). Answers never appear in events
 * or logs; an unanswered prompt fails after `timeoutMs` rather than hanging the login.
 */
export class PromptBroker {
  private readonly pending = new Map<string, Pending>();
  private readonly listeners = new Set<(event: PromptBrokerEvent) => void>();

  constructor(
    private readonly fallback: Prompter | undefined,
    private readonly timeoutMs = 120_000
  ) {}

  subscribe(listener: (event: PromptBrokerEvent) => void): () => void {
    this.listeners.add(listener);
    // A tab that opens while a prompt waits must still see it.
    for (const p of this.pending.values()) listener(p.request);
    return () => this.listeners.delete(listener);
  }

  /** The prompts still waiting, for a client that has just connected. */
  waiting(): PromptEvent[] {
    return [...this.pending.values()].map(p => p.request);
  }

  readonly prompter: Prompter = request => {
    if (this.listeners.size === 0) {
      if (this.fallback) return this.fallback(request);
      return Promise.reject(
        new Error(
          `${request.cluster}: the login node asks "${request.prompts[0]?.prompt ?? request.name}"; open JupyterLab (the hpclab sidebar) or a terminal to answer it`
        )
      );
    }
    const id = randomBytes(8).toString('hex');
    const event: PromptEvent = {
      type: 'prompt',
      id,
      cluster: request.cluster,
      kind: request.kind,
      name: request.name,
      instructions: request.instructions,
      prompts: request.prompts
    };
    return new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.finish(
            id,
            new Error(
              `${request.cluster}: nobody answered the login prompt within ${Math.round(this.timeoutMs / 1000)} s`
            )
          ),
        this.timeoutMs
      );
      timer.unref();
      this.pending.set(id, { request: event, resolve, reject, timer });
      this.emit(event);
    });
  };

  /** Answers prompt `id`; false when it is unknown (answered, timed out, or never asked). */
  answer(id: string, answers: string[]): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    if (answers.length !== p.request.prompts.length)
      throw new RangeError(`answers: expected ${p.request.prompts.length} answer(s), got ${answers.length}`);
    this.finish(id, answers);
    return true;
  }

  /** The user dismissed the dialog: the login fails now instead of at the timeout. */
  cancel(id: string): boolean {
    if (!this.pending.has(id)) return false;
    this.finish(id, new Error('the login prompt was dismissed'));
    return true;
  }

  close(): void {
    for (const id of [...this.pending.keys()]) this.finish(id, new Error('the companion is shutting down'));
  }

  private finish(id: string, outcome: string[] | Error): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (outcome instanceof Error) p.reject(outcome);
    else p.resolve(outcome);
    this.emit({ type: 'prompt-done', id, answered: !(outcome instanceof Error) });
  }

  private emit(event: PromptBrokerEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
