import http from 'node:http';
import type { Duplex } from 'node:stream';
import { StreamAgent, StreamAgentClosedError } from '../../../server/proxy/stream-agent';
import { countingTarget, eventually, startUpstream, type Upstream } from './harness';

function get(agent: http.Agent, path = '/'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: 'placeholder.invalid', path, agent }, res => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe('StreamAgent', () => {
  let upstream: Upstream;
  beforeEach(async () => {
    upstream = await startUpstream();
  });
  afterEach(() => upstream.stop());

  it('pools one stream for sequential requests and closes it once idle', async () => {
    const target = countingTarget(() => upstream.port, { plainDuplex: true });
    const agent = new StreamAgent({ open: target.connect, keepAlive: true, connectTimeoutMs: 1000, idleMs: 100 });
    for (let i = 0; i < 5; i++) expect(await get(agent)).toBe(200);
    expect(target.connects).toBe(1);
    await eventually(() => upstream.closed === 1, 'idle stream closed');
    expect(agent.openStreams).toBe(0);
    expect(await get(agent)).toBe(200);
    expect(target.connects).toBe(2);
    agent.destroy();
  });

  it('does not pool when keepAlive is off', async () => {
    const target = countingTarget(() => upstream.port);
    const agent = new StreamAgent({ open: target.connect, keepAlive: false, connectTimeoutMs: 1000, idleMs: 10_000 });
    await get(agent);
    await get(agent);
    expect(target.connects).toBe(2);
    await eventually(() => upstream.closed === 2, 'both streams closed');
    agent.destroy();
  });

  it('closes a stream that finishes opening after destroy(), failing its request', async () => {
    const target = countingTarget(() => upstream.port);
    let arrived: Duplex | undefined;
    const open = async () => {
      await new Promise(r => setTimeout(r, 50));
      return (arrived = await target.connect());
    };
    const agent = new StreamAgent({ open, keepAlive: true, connectTimeoutMs: 1000, idleMs: 10_000 });
    const pending = get(agent);
    agent.destroy();
    await expect(pending).rejects.toBeInstanceOf(StreamAgentClosedError);
    await eventually(() => arrived?.destroyed === true, 'late stream destroyed');
  });
});
