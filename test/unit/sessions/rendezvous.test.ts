import { parseRendezvous, RendezvousError } from '../../../server/sessions/rendezvous';

const TOKEN = 'ab'.repeat(32);
const good = {
  version: 1,
  sessionId: 's1',
  host: 'n1.cluster',
  port: 40123,
  token: TOKEN,
  node: 'n1',
  jobId: '42',
  pid: 1234
};
const text = (over: Record<string, unknown> = {}) => JSON.stringify({ ...good, ...over });

describe('parseRendezvous', () => {
  it('reads what the job script writes', () => {
    expect(parseRendezvous(`${text()}\n`, { sessionId: 's1' })).toEqual(good);
  });

  it('accepts IPv4 and IPv6 literals and empty node/job when Slurm gave none', () => {
    expect(parseRendezvous(text({ host: '10.0.0.7' }), { sessionId: 's1' })).toMatchObject({ host: '10.0.0.7' });
    expect(parseRendezvous(text({ host: 'fe80::1' }), { sessionId: 's1' })).toMatchObject({ host: 'fe80::1' });
    expect(parseRendezvous(text({ node: '', jobId: '' }), { sessionId: 's1' }).node).toBe('');
  });

  it('refuses a file from another session', () => {
    expect(() => parseRendezvous(text(), { sessionId: 's2' })).toThrow('rendezvous file is for session "s1", not "s2"');
  });

  it.each([
    [{ host: 'evil host' }, /host: expected a host name or IP address, got "evil host"/],
    [{ host: '-oProxyCommand=x' }, /host:/],
    [{ host: '[::1]' }, /host:/],
    [{ host: '' }, /host:/],
    [{ port: 0 }, /port: expected 1 to 65535, got 0/],
    [{ port: 65536 }, /port: expected 1 to 65535/],
    [{ port: '8888' }, /port: expected a number/],
    [{ port: 80.5 }, /port: expected a whole number/],
    [{ token: 'abc' }, /token: expected at least 32 hex characters/],
    [{ token: 'Z'.repeat(40) }, /token:/],
    [{ version: 2 }, /socketDir: expected a string/],
    [{ node: 'n1;x' }, /node:/],
    [{ pid: -1 }, /pid:/]
  ])('refuses %j', (over, message) => {
    expect(() => parseRendezvous(text(over), { sessionId: 's1' })).toThrow(message);
  });

  it('names every missing field, and never echoes the token', () => {
    try {
      parseRendezvous(JSON.stringify({ version: 1, sessionId: 's1', token: 'q'.repeat(40) }), { sessionId: 's1' });
      throw new Error('not thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(RendezvousError);
      const message = (err as Error).message;
      for (const field of ['host', 'port', 'token', 'node', 'jobId', 'pid']) expect(message).toContain(`${field}:`);
      expect(message).not.toContain('q'.repeat(40));
    }
  });

  it('says when the text is not JSON (half-written) or not an object', () => {
    expect(() => parseRendezvous('{"version":1,"sess', { sessionId: 's1' })).toThrow(/not JSON/);
    expect(() => parseRendezvous('[1]', { sessionId: 's1' })).toThrow(/expected a JSON object/);
  });
});

describe("parseRendezvous, version 2 (a unix socket in the job's private directory)", () => {
  const v2 = {
    version: 2,
    sessionId: 's1',
    socketDir: '/tmp/hpclab.Ab3dE5gH7j',
    socket: 'lab.sock',
    relayPython: '/usr/bin/python3',
    token: TOKEN,
    node: 'n1',
    jobId: '42',
    pid: 1234
  };
  const text2 = (over: Record<string, unknown> = {}) => JSON.stringify({ ...v2, ...over });

  it('reads what the job script writes', () => {
    expect(parseRendezvous(text2(), { sessionId: 's1' })).toEqual(v2);
  });

  it.each([
    [{ socketDir: 'tmp/hpclab.x' }, /socketDir: expected an absolute path/],
    [{ socketDir: '/tmp/../etc' }, /socketDir:/],
    [{ socketDir: '/tmp/a b' }, /socketDir:/],
    [{ socketDir: `/tmp/${'x'.repeat(90)}` }, /socketDir:/],
    [{ socket: '../lab.sock' }, /socket: expected "lab.sock"/],
    [{ relayPython: 'python3' }, /relayPython: expected an absolute path/],
    [{ relayPython: '/usr/bin/python3; rm -rf ~' }, /relayPython:/],
    [{ version: 3 }, /version: expected 1 or 2, got 3/]
  ])('refuses %p', (over, message) => {
    expect(() => parseRendezvous(text2(over), { sessionId: 's1' })).toThrow(message);
  });
});
