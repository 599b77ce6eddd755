/*
 * The companion's API, defined once (see common.ts). The extension imports it from here; the
 * companion's routes map their internal records onto these replies (server/api/replies.ts), and
 * `npm run api:schema` writes them out as docs/api.schema.json.
 */
export * from './common';
export * from './clusters';
export * from './sessions';
export * from './kernels';
export * from './setup';
export * from './runs';
export * from './envs';
export * from './events';
