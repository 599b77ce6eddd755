import express, { type Router } from 'express';
import { invalidField } from './errors';
import { BODY_LIMIT, discoverSchema, parse, putProfileSchema, readParam, saveSetupSchema } from './schemas';
import type { SetupApi } from './services';

/*
 * "Add a cluster" and "Edit profiles" (what `hpclab init` does, from the sidebar):
 * GET    /api/setup                       → { configPath, configured, hosts } (hosts: ~/.ssh/config aliases)
 * POST   /api/setup/discover              → connects, proposes profiles; writes nothing. Body { host, cluster? }
 * POST   /api/setup/save                  → writes the cluster and chosen profiles (merged). Body { host, cluster, profiles }
 * GET    /api/profiles/:profile/config    → { name, profile } as written in the config
 * PUT    /api/profiles/:profile           → creates or replaces it. Body { profile }
 * DELETE /api/profiles/:profile           → { name, removed: true }
 */
export function setupRoutes(router: Router, setup: SetupApi): void {
  const json = express.json({ limit: BODY_LIMIT });
  const body = (value: unknown) => {
    if (value === undefined) throw invalidField('body', 'expected a JSON object (Content-Type: application/json)');
    return value;
  };

  router.get('/api/setup', async (_req, res) => {
    res.json(await setup.info());
  });

  router.post('/api/setup/discover', json, async (req, res) => {
    const { host, cluster } = parse(discoverSchema, body(req.body), 'body');
    res.json(await setup.discover(host, cluster));
  });

  router.post('/api/setup/save', json, async (req, res) => {
    const { host, cluster, profiles } = parse(saveSetupSchema, body(req.body), 'body');
    res.json(await setup.save(host, cluster, profiles));
  });

  router.get('/api/profiles/:profile/config', async (req, res) => {
    res.json(await setup.profileConfig(readParam(req, 'profile')));
  });

  router.put('/api/profiles/:profile', json, async (req, res) => {
    // The path names what is changed: a bad name is the error even when the body is bad too.
    const name = readParam(req, 'profile');
    const { profile } = parse(putProfileSchema, body(req.body), 'body');
    res.json(await setup.putProfile(name, profile));
  });

  router.delete('/api/profiles/:profile', async (req, res) => {
    res.json(await setup.removeProfile(readParam(req, 'profile')));
  });
}
