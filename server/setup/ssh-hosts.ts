/**
 * The hosts a user can pick in `hpclab init`: every concrete alias of ~/.ssh/config's `Host`
 * lines, in file order, without patterns (`*`, `?`, `!`), which name no one host.
 */
export function listSshHosts(text: string | undefined): string[] {
  const hosts: string[] = [];
  for (const line of (text ?? '').split(/\r?\n/)) {
    const m = /^\s*host(?:\s*=\s*|\s+)(.*)$/i.exec(line);
    if (!m) continue;
    for (const word of m[1].replace(/\s+#.*$/, '').split(/\s+/)) {
      const alias = word.replace(/^"(.*)"$/, '$1');
      if (alias && !/[*?!]/.test(alias) && !hosts.includes(alias)) hosts.push(alias);
    }
  }
  return hosts;
}
