import { toBrowserHeaders, toUpstreamHeaders, withoutCookie } from '../../../server/proxy/upstream-headers';

describe('toUpstreamHeaders', () => {
  const browser = {
    host: '127.0.0.1:8765',
    accept: 'application/json',
    authorization: 'Bearer companion',
    cookie: 'hpclab-token=companion; _xsrf=2|a|b',
    origin: 'http://127.0.0.1:8765',
    referer: 'http://127.0.0.1:8765/hpclab/node/abc123/lab?token=companion',
    connection: 'keep-alive, x-private',
    'keep-alive': 'timeout=5',
    'x-private': 'hop',
    expect: '100-continue',
    te: 'trailers',
    'content-type': 'application/json',
    'content-length': '2',
    'x-xsrftoken': '2|a|b'
  };

  it('speaks to the node with its own token, a loopback Host and the same Origin', () => {
    expect(toUpstreamHeaders(browser, 'node-token', false)).toEqual({
      host: '127.0.0.1',
      accept: 'application/json',
      authorization: 'token node-token',
      cookie: '_xsrf=2|a|b',
      origin: 'http://127.0.0.1',
      'content-type': 'application/json',
      'content-length': '2',
      'x-xsrftoken': '2|a|b'
    });
  });

  it('keeps the upgrade handshake for WebSockets', () => {
    const out = toUpstreamHeaders(
      {
        host: 'x',
        connection: 'keep-alive, Upgrade',
        upgrade: 'websocket',
        'sec-websocket-key': 'k',
        'sec-websocket-version': '13',
        'sec-websocket-origin': 'http://evil'
      },
      't',
      true
    );
    expect(out).toEqual({
      host: '127.0.0.1',
      authorization: 'token t',
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'k',
      'sec-websocket-version': '13'
    });
  });

  it('does not change the headers it was given', () => {
    const copy = { ...browser };
    toUpstreamHeaders(copy, 't', false);
    expect(copy).toEqual(browser);
  });
});

describe('withoutCookie', () => {
  it.each([
    ['hpclab-token=a', undefined],
    ['a=1; hpclab-token=x; b=2', 'a=1; b=2'],
    ['a=1;hpclab-token=x;b=2', 'a=1; b=2'],
    ['hpclab-token=x; hpclab-token=y; _xsrf=z', '_xsrf=z'],
    ['hpclab-token-old=x; xhpclab-token=y', 'hpclab-token-old=x; xhpclab-token=y'],
    ['', undefined]
  ])('%s → %s', (header, expected) => {
    expect(withoutCookie(header, 'hpclab-token')).toBe(expected);
  });
});

describe('toBrowserHeaders', () => {
  it("drops the node hop's connection headers and CORS grants, and states the browser connection's fate", () => {
    const headers = {
      'content-type': 'text/html',
      connection: 'keep-alive, x-node-hop',
      'keep-alive': 'timeout=61',
      'x-node-hop': '1',
      'access-control-allow-origin': 'http://127.0.0.1',
      'access-control-allow-credentials': 'true',
      'set-cookie': ['_xsrf=1; Path=/hpclab/node/abc123/']
    };
    toBrowserHeaders(headers, false);
    expect(headers).toEqual({
      'content-type': 'text/html',
      connection: 'close',
      'set-cookie': ['_xsrf=1; Path=/hpclab/node/abc123/']
    });
  });

  it('turns a redirect to the upstream Host into a path; other redirects stay', () => {
    const own = { location: 'http://127.0.0.1/hpclab/node/abc123/lab?x=1' };
    toBrowserHeaders(own, true);
    expect(own).toEqual({ location: '/hpclab/node/abc123/lab?x=1', connection: 'keep-alive' });
    for (const location of [
      '/hpclab/node/abc123/lab',
      'https://github.com/login',
      'http://127.0.0.1:8888/x',
      'http://127.0.0.1.evil/x'
    ]) {
      const other = { location };
      toBrowserHeaders(other, true);
      expect(other.location).toBe(location);
    }
  });
});
