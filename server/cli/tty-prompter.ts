import * as readline from 'node:readline';
import type { PromptRequest } from '../transport/types';

/**
 * Answers SSH prompts (2FA codes, key passphrases) on the terminal, hiding what is typed when
 * the server asks for no echo. Without a terminal there is nobody to ask: fail clearly.
 */
export async function ttyPrompter(request: PromptRequest): Promise<string[]> {
  if (!process.stdin.isTTY) {
    throw new Error(
      `${request.cluster}: the login node asks "${request.prompts[0]?.prompt ?? request.name}" and there is no terminal to answer it`
    );
  }
  if (request.name) process.stderr.write(`${request.name}\n`);
  if (request.instructions) process.stderr.write(`${request.instructions}\n`);
  const answers: string[] = [];
  for (const p of request.prompts) answers.push(await ask(p.prompt, p.echo));
  return answers;
}

/** One question answered on the terminal, echoed (a choice, a yes or no); the caller checks for a TTY. */
export function askLine(question: string): Promise<string> {
  return ask(question, true);
}

function ask(question: string, echo: boolean): Promise<string> {
  return new Promise(resolve => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    if (!echo) {
      // Print the question ourselves, then mute readline's echo of each key.
      process.stderr.write(question);
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = () => undefined;
    }
    rl.question(echo ? question : '', answer => {
      rl.close();
      if (!echo) process.stderr.write('\n');
      resolve(answer);
    });
  });
}
