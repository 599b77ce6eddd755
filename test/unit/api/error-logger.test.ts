import type { NextFunction, Request, Response } from 'express';
import { ApiError, errorHandler } from '../../../server/api/errors';
import { createLogger } from '../../../server/log';

/* A 500's detail goes to the companion's logger (or, as before, to a plain function); a mapped error is not logged. */

function fakeRes() {
  const res = {
    headersSent: false,
    statusCode: 0,
    body: undefined as unknown,
    status: (s: number) => ((res.statusCode = s), res),
    set: () => res,
    json: (b: unknown) => ((res.body = b), res)
  };
  return res;
}
const req = { method: 'GET', originalUrl: '/hpclab/api/sessions?token=secret' } as Request;
const next = (() => undefined) as NextFunction;

it('logs an unknown error at error level under its scope, without the query (the token)', () => {
  const entries: string[] = [];
  const logger = createLogger({ level: 'info', write: e => entries.push(e) }).child('api');
  const res = fakeRes();
  errorHandler(logger)(new Error('boom'), req, res as unknown as Response, next);
  expect(res.statusCode).toBe(500);
  expect(entries.map(e => e.replace(/^\S+ /, ''))).toEqual(['ERROR api: GET /hpclab/api/sessions failed: boom\n']);
  errorHandler(logger)(new ApiError(404, 'not-found', 'no session x'), req, fakeRes() as unknown as Response, next);
  expect(entries).toHaveLength(1);
});

it('still takes a plain function', () => {
  const seen: unknown[] = [];
  errorHandler((message, err) => seen.push(message, err))(
    new Error('boom'),
    req,
    fakeRes() as unknown as Response,
    next
  );
  expect(seen).toEqual(['GET /hpclab/api/sessions failed', new Error('boom')]);
});
