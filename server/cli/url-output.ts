/**
 * What `serve`, `lab` and `tunnel` print once they are up: the human line, or with `--json` one
 * JSON object on one line, so a script reads the first line of stdout and parses it. Progress
 * and later messages go to stderr either way.
 */
export interface UrlAnswer {
  url: string;
  token?: string;
  pid: number;
  [more: string]: unknown;
}

export function urlLine(json: boolean | undefined, human: string, answer: UrlAnswer): string {
  return `${json ? JSON.stringify(answer) : human}\n`;
}
