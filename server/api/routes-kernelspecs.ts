import express, { type Router } from 'express';
import { invalidField } from './errors';
import { addKernelSchema, BODY_LIMIT, parse, readParam, readQuery, refreshSchema } from './schemas';
import { envReply, kernelspecReply, profileReply } from './replies';
import type { KernelspecApi } from './services';

/*
 * GET    /api/profiles                    → ProfileView[] (what the Request form and launcher tiles offer)
 * GET    /api/kernelspecs                 → the hpclab kernelspecs Jupyter lists in its kernel picker
 * POST   /api/kernelspecs                 → 201 (new) or 200 (updated) the kernelspec; body AddKernelRequest
 * DELETE /api/kernelspecs/:name           → { removed: path }
 * GET    /api/clusters/:cluster/envs[?refresh=1] → DiscoveredEnv[] (cached for 10 minutes)
 */
export function kernelspecRoutes(router: Router, kernelspecs: KernelspecApi): void {
  const json = express.json({ limit: BODY_LIMIT });

  router.get('/api/profiles', (_req, res) => {
    res.json(kernelspecs.profiles().map(profileReply));
  });

  router.get('/api/kernelspecs', async (_req, res) => {
    res.json((await kernelspecs.list()).map(kernelspecReply));
  });

  router.post('/api/kernelspecs', json, async (req, res) => {
    if (req.body === undefined) throw invalidField('body', 'expected a JSON object (Content-Type: application/json)');
    const spec = await kernelspecs.add(parse(addKernelSchema, req.body, 'body'));
    res.status(spec.created ? 201 : 200).json({ ...kernelspecReply(spec), created: spec.created });
  });

  router.delete('/api/kernelspecs/:name', async (req, res) => {
    res.json({ removed: await kernelspecs.remove(readParam(req, 'name')) });
  });

  router.get('/api/clusters/:cluster/envs', async (req, res) => {
    const cluster = readParam(req, 'cluster');
    const refresh = readQuery(req, 'refresh', refreshSchema, false);
    res.json((await kernelspecs.envs(cluster, refresh)).map(envReply));
  });
}
