import { locateCompanion, type ServerReply } from '../../src/locate';
import { API_VERSION, EXTENSION_VERSION } from '../../src/version';
import { fakeFetch } from './fixtures';

const server = (status: number, body: unknown) => async (): Promise<ServerReply> => ({
  ok: status < 300,
  status,
  statusText: String(status),
  json: async () => body
});
const unused = async (): Promise<ServerReply> => {
  throw new Error('the Jupyter server must not be asked');
};

test('under hpclab lab the companion on the same origin wins, with the cookie', async () => {
  const { impl } = fakeFetch({ 'GET /hpclab/api/version': { body: { version: EXTENSION_VERSION, api: API_VERSION } } });
  const found = await locateCompanion({ askServer: unused, fetchImpl: impl });
  expect(found.problem).toBeUndefined();
  expect(found.api.usesToken).toBe(false);
  expect(found.api.base).toBe('http://localhost/hpclab/');
});

test('under plain Jupyter the server extension names the companion; the token goes in the header and the events URL', async () => {
  const { impl, calls } = fakeFetch({ 'GET /hpclab/api/clusters': { body: ['testbed'] } });
  const found = await locateCompanion({
    askServer: server(200, {
      url: 'http://127.0.0.1:4567/',
      token: 'tok',
      version: EXTENSION_VERSION,
      api: API_VERSION
    }),
    fetchImpl: impl
  });
  expect(found.problem).toBeUndefined();
  expect(found.api.base).toBe('http://127.0.0.1:4567/hpclab/');
  expect(found.api.eventsUrl()).toBe('http://127.0.0.1:4567/hpclab/events?token=tok');
  expect(await found.api.clusters()).toEqual(['testbed']);
  const last = calls[calls.length - 1];
  expect((last.init.headers as Record<string, string>).Authorization).toBe('token tok');
  expect(last.init.credentials).toBe('same-origin'); // the cookie never goes to the other origin
});

test("the server extension's words reach the user when it cannot start the companion", async () => {
  const { impl } = fakeFetch({});
  const found = await locateCompanion({
    askServer: server(503, {
      error: { code: 'companion-unavailable', message: 'hpclab needs Node.js 20 or newer on PATH' }
    }),
    fetchImpl: impl
  });
  expect(found.problem).toBe('hpclab needs Node.js 20 or newer on PATH');
});

test('no server extension (404): the same-origin default, no problem invented', async () => {
  const { impl } = fakeFetch({});
  const found = await locateCompanion({ askServer: server(404, undefined), fetchImpl: impl });
  expect(found.problem).toBeUndefined();
  expect(found.api.usesToken).toBe(false);
});

test('a garbled answer is named with its status', async () => {
  const { impl } = fakeFetch({});
  expect((await locateCompanion({ askServer: server(502, undefined), fetchImpl: impl })).problem).toMatch(
    /answered 502/
  );
  expect((await locateCompanion({ askServer: server(200, { url: 'not a url' }), fetchImpl: impl })).problem).toMatch(
    /answered 200/
  );
});
