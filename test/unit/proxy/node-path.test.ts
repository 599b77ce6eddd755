import { hasDotSegment, isValidPrefix, routeNodePath } from '../../../server/proxy/node-path';

const PREFIX = '/hpclab/node/';

describe('routeNodePath', () => {
  it('names the session of a path under the prefix', () => {
    expect(routeNodePath('/hpclab/node/abc123/lab/tree/a.ipynb?reset', PREFIX)).toEqual({
      kind: 'proxy',
      sessionId: 'abc123'
    });
    expect(routeNodePath('/hpclab/node/abc123/', PREFIX)).toEqual({ kind: 'proxy', sessionId: 'abc123' });
    expect(routeNodePath(`/hpclab/node/${'a1'.repeat(16)}/`, PREFIX)).toEqual({
      kind: 'proxy',
      sessionId: 'a1'.repeat(16)
    });
  });

  it('redirects the bare session path to its slash, keeping the query', () => {
    expect(routeNodePath('/hpclab/node/abc123', PREFIX)).toEqual({
      kind: 'redirect',
      location: '/hpclab/node/abc123/'
    });
    expect(routeNodePath('/hpclab/node/abc123?a=1&b=%2F', PREFIX)).toEqual({
      kind: 'redirect',
      location: '/hpclab/node/abc123/?a=1&b=%2F'
    });
  });

  it.each([
    '/hpclab/node/',
    '/hpclab/node',
    '/hpclab/api/sessions',
    '/hpclab/node/abc12/',
    `/hpclab/node/${'a'.repeat(33)}/`,
    '/hpclab/node/Abc123/',
    '/hpclab/node/abc_123/',
    '/hpclab/node/abc%31234/',
    '/HPCLAB/node/abc123/',
    'http://evil.example/hpclab/node/abc123/',
    '/hpclab/node/abc123/../other1/',
    '/hpclab/node/abc123/lab/%2e%2e/%2E%2E/x',
    '/hpclab/node/abc123/.%2e/x',
    '/hpclab/node/abc123/..%2F..%2Fx',
    '/hpclab/node/abc123/..\\x',
    '/hpclab/node/abc123/a/..'
  ])('refuses %s', url => {
    expect(routeNodePath(url, PREFIX)).toEqual({ kind: 'not-found' });
  });

  it('leaves names that merely contain dots alone', () => {
    expect(hasDotSegment('/hpclab/node/abc123/files/.ipynb_checkpoints/a..b/...')).toBe(false);
    expect(routeNodePath('/hpclab/node/abc123/files/..hidden?x=..', PREFIX)).toEqual({
      kind: 'proxy',
      sessionId: 'abc123'
    });
  });

  it('honours another prefix', () => {
    expect(routeNodePath('/x/abc123/', '/x/')).toEqual({ kind: 'proxy', sessionId: 'abc123' });
    expect(routeNodePath('/hpclab/node/abc123/', '/x/')).toEqual({ kind: 'not-found' });
  });

  it('accepts only absolute, slash-terminated prefixes', () => {
    expect(isValidPrefix('/hpclab/node/')).toBe(true);
    expect(isValidPrefix('/')).toBe(true);
    for (const bad of ['', 'hpclab/node/', '/hpclab/node', '/hpclab//node/', '/hpclab/../node/', '/a?b/'])
      expect(isValidPrefix(bad)).toBe(false);
  });
});
