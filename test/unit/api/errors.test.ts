import { z } from 'zod';
import { ApiError, invalid, toApiError } from '../../../server/api/errors';
import { SessionNotFoundError } from '../../../server/api/services';
import { ConfigError } from '../../../server/config/load';
import { SetupError } from '../../../server/setup/errors';
import { TransportError } from '../../../server/transport/errors';

test('ZodError → 400 invalid with one field per problem', () => {
  const result = z.strictObject({ a: z.string() }).safeParse({ a: 1, b: 2 });
  const mapped = toApiError(result.error);
  expect(mapped).toBeInstanceOf(ApiError);
  expect(mapped?.status).toBe(400);
  expect(mapped?.fields?.map(f => f.path).sort()).toEqual(['a', 'b']);
});

test('a scalar error is named after its root', () => {
  const result = z.string().safeParse(5);
  expect(invalid(result.error!, 'tail').fields).toEqual([{ path: 'tail', message: expect.any(String) }]);
});

test('a session layer with its own SessionNotFoundError class still maps to 404', () => {
  class SessionNotFoundError2 extends Error {
    constructor() {
      super('no session abc123');
      this.name = 'SessionNotFoundError';
    }
  }
  expect(toApiError(new SessionNotFoundError2())?.status).toBe(404);
  expect(toApiError(new SessionNotFoundError('abc123'))?.message).toBe('no session abc123');
});

test('errors whose words are not for users map to undefined (generic 500)', () => {
  expect(toApiError(new Error('x'))).toBeUndefined();
  expect(toApiError(new TransportError('closed', 'closed'))).toBeUndefined();
  expect(toApiError(new TransportError('output-limit', 'too much'))).toBeUndefined();
  expect(toApiError('a string')).toBeUndefined();
  expect(toApiError(null)).toBeUndefined();
});

test("a config file that does not load is the user's to fix: 409 naming it; setup's own errors keep their fields", () => {
  const broken = toApiError(
    new ConfigError('invalid', '/home/me/config.json: profiles.gpu.time: expected a Slurm time')
  );
  expect(broken).toMatchObject({
    status: 409,
    code: 'config-broken',
    message: expect.stringMatching(
      /^\/home\/me\/config.json: profiles.gpu.time.*\nFix the file first; nothing was written.$/
    )
  });
  const field = toApiError(new SetupError('invalid', 'profile.time: bad', [{ path: 'profile.time', message: 'bad' }]));
  expect(field).toMatchObject({ status: 400, code: 'invalid', fields: [{ path: 'profile.time', message: 'bad' }] });
  expect(toApiError(new SetupError('conflict', 'taken'))).toMatchObject({ status: 409, fields: undefined });
});
