import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

/*
 * A wheel pip installs without a package index: one module and the dist-info pip requires
 * (METADATA, WHEEL, RECORD with hashes), zipped by python's own zipfile. The tests have no
 * index to reach, so this is how they give pip something real to install.
 */
const MAKE_WHEEL = `
import base64, hashlib, sys, zipfile
out_dir, mod, source = sys.argv[1:4]
dist = mod + '-0.1.dist-info'
files = {
    mod + '.py': source,
    dist + '/METADATA': 'Metadata-Version: 2.1\\nName: ' + mod + '\\nVersion: 0.1\\n',
    dist + '/WHEEL': 'Wheel-Version: 1.0\\nGenerator: hpclab-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n',
}
record = []
for name, text in files.items():
    data = text.encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    record.append('%s,sha256=%s,%d' % (name, digest, len(data)))
record.append(dist + '/RECORD,,')
files[dist + '/RECORD'] = '\\n'.join(record) + '\\n'
wheel = out_dir + '/' + mod + '-0.1-py3-none-any.whl'
with zipfile.ZipFile(wheel, 'w') as z:
    for name, text in files.items():
        z.writestr(name, text)
print(wheel)
`;

/** Writes `<mod>-0.1-py3-none-any.whl` into `dir` (a module whose source is `source`); returns its path. */
export function makeTinyWheel(dir: string, mod: string, source: string, python = 'python3'): string {
  const wheel = execFileSync(python, ['-c', MAKE_WHEEL, dir, mod, source], { encoding: 'utf8' }).trim();
  if (path.dirname(wheel) !== dir) throw new Error(`the wheel went elsewhere: ${wheel}`);
  return wheel;
}
