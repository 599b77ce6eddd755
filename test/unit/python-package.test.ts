import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/** `key = "value"` in one `[table]` of pyproject.toml: enough TOML for the fields checked here. */
function tomlString(text: string, table: string, key: string): string | undefined {
  const body = text.split(/^\[/m).find(section => section.startsWith(`${table}]`));
  return body?.match(new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, 'm'))?.[1];
}

/*
 * The wheel and the npm package are one release: the companion inside the wheel reports
 * package.json's version, and the server extension's wheel metadata must say the same.
 */
describe('the Python package', () => {
  const pyproject = readFileSync(path.join(root, 'pyproject.toml'), 'utf8');
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    license: string;
  };

  it('has the version, name and license of package.json', () => {
    expect(tomlString(pyproject, 'project', 'version')).toBe(pkg.version);
    expect(tomlString(pyproject, 'project', 'name')).toBe(pkg.name);
    expect(tomlString(pyproject, 'project', 'license')).toBe(pkg.license);
  });

  it('installs the labextension under the name JupyterLab knows it by', () => {
    const lab = JSON.parse(readFileSync(path.join(root, 'install.json'), 'utf8')) as { packageName: string };
    expect(lab.packageName).toBe(pkg.name);
    expect(pyproject).toContain(`"hpclab/labextension" = "share/jupyter/labextensions/${pkg.name}"`);
  });
});
