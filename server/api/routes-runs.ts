import express, { type Router } from 'express';
import { invalidField } from './errors';
import { outputPathSchema, parse, readParam, readQuery, RUN_BODY_LIMIT, submitRunSchema } from './schemas';
import { runPreviewReply, runReply, submittedRunReply } from './replies';
import type { RunApi, SubmitRunRequest } from './services';

/*
 * POST /api/runs/preview                              → { cluster, runDir, argv, script, taskCount }; nothing staged
 * POST /api/runs                                      → 201 { cluster, runId, runDir, jobId, taskCount, log, warning }
 * GET  /api/clusters/:cluster/runs                    → { runs, problems }, newest first (at most 50)
 * GET  /api/clusters/:cluster/runs/:run/outputs       → { outputs: [{ path, size }] }
 * GET  /api/clusters/:cluster/runs/:run/output?path=P → the file's bytes; only paths the outputs listing offers
 */

const LIST_LIMIT = 50;

export function runRoutes(router: Router, runs: RunApi): void {
  const json = express.json({ limit: RUN_BODY_LIMIT });
  const body = (value: unknown) => {
    if (value === undefined) throw invalidField('body', 'expected a JSON object (Content-Type: application/json)');
    return parse(submitRunSchema, value, 'body') satisfies SubmitRunRequest;
  };

  // The Submit dialog's preview and as-you-type check: the same planning as POST, nothing staged.
  router.post('/api/runs/preview', json, async (req, res) => {
    res.json(runPreviewReply(await runs.preview(body(req.body))));
  });

  router.post('/api/runs', json, async (req, res) => {
    const planned = await runs.plan(body(req.body));
    res.status(201).json(submittedRunReply(await runs.submit(planned)));
  });

  router.get('/api/clusters/:cluster/runs', async (req, res) => {
    const { runs: views, problems } = await runs.list(readParam(req, 'cluster'), { limit: LIST_LIMIT });
    res.json({ runs: views.map(runReply), problems });
  });

  router.get('/api/clusters/:cluster/runs/:run/outputs', async (req, res) => {
    res.json({ outputs: await runs.outputs(readParam(req, 'cluster'), readParam(req, 'run')) });
  });

  router.get('/api/clusters/:cluster/runs/:run/output', async (req, res) => {
    const cluster = readParam(req, 'cluster');
    const run = readParam(req, 'run');
    const path = readQuery(req, 'path', outputPathSchema, undefined);
    if (path === undefined) throw invalidField('path', 'expected the output path, e.g. ?path=out/analysis_0.ipynb');
    const data = await runs.output(cluster, run, path);
    res.type('application/octet-stream').send(data);
  });
}
