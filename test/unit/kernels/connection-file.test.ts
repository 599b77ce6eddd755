import {
  ipcSocketName,
  parseConnectionFile,
  parseRemoteConnectionFile,
  remoteConnectionFile
} from '../../../server/kernels/connection-file';

const local = { key: 'k'.repeat(36), signature_scheme: 'hmac-sha256' };
const prefix = '/tmp/hpclab.Ab3dE5gH7j/k1733450000000';
const written = (over: Record<string, unknown>) =>
  JSON.stringify({ ...JSON.parse(remoteConnectionFile(local, { ipcPrefix: prefix })), ...over });
const bound = { shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5 };

describe('connection files for kernels on a node', () => {
  it('asks for ipc sockets in the private directory, ports 0 so ipykernel picks free numbers', () => {
    expect(JSON.parse(remoteConnectionFile(local, { ipcPrefix: prefix }))).toMatchObject({
      transport: 'ipc',
      ip: prefix,
      shell_port: 0,
      key: local.key
    });
    expect(JSON.parse(remoteConnectionFile(local, { host: '10.0.0.5' }))).toMatchObject({
      transport: 'tcp',
      ip: '10.0.0.5'
    });
  });

  it('reads back what ipykernel wrote, and names each channel socket', () => {
    const info = parseRemoteConnectionFile(written(bound), 'cf', { ipcPrefix: prefix });
    expect(ipcSocketName(info, 'shell_port')).toBe('k1733450000000-1');
    expect(ipcSocketName(info, 'hb_port')).toBe('k1733450000000-5');
  });

  it.each([
    [{ ...bound, ip: '/tmp/other/k1' }, /bound ipc:\/tmp\/other\/k1, not what hpclab asked for/],
    [{ ...bound, transport: 'tcp' }, /not what hpclab asked for/],
    [{ ...bound, shell_port: 100 }, /socket numbers above 99/],
    [{ ...bound, transport: 'udp' }, /transport/]
  ])('refuses a file that would steer a channel elsewhere: %p', (over, message) => {
    expect(() => parseRemoteConnectionFile(written(over), 'cf', { ipcPrefix: prefix })).toThrow(message);
  });

  it('still refuses ipc in the local connection file Jupyter gives the launcher (it cannot cross hosts)', () => {
    expect(() => parseConnectionFile(written(bound), 'local.json')).toThrow(/hpclab tunnels tcp kernels only/);
  });
});
