import type { Request, Router } from 'express';
import { ApiError } from './errors';
import { HISTORY_SINCE_DEFAULT, historySinceQuery, partitionQuery, readParam, readQuery } from './schemas';
import { clusterNodeReply, clusterStatusReply, historyReply } from './replies';
import { JOB_ACTIONS, type ClusterService } from './services';

/*
 * GET  /api/clusters                                   → string[]
 * GET  /api/clusters/:cluster/status                   → ClusterStatus
 * POST /api/clusters/:cluster/jobs/:jobId/cancel|hold|release → 204
 * GET  /api/clusters/:cluster/history?since=7d           → History
 * GET  /api/clusters/:cluster/nodes[?partition=P]         → ClusterNode[] (sinfo, each node once)
 */
export function clusterRoutes(router: Router, clusters: ClusterService): void {
  /** A configured cluster's name; the check is here so every implementation 404s alike. */
  const knownCluster = (name: string): string => {
    const names = clusters.names();
    if (names.includes(name)) return name;
    const known = names.length === 0 ? 'no clusters are configured' : `known clusters: ${names.join(', ')}`;
    throw new ApiError(404, 'not-found', `unknown cluster ${JSON.stringify(name)} (${known})`);
  };
  const clusterOf = (req: Request) => knownCluster(readParam(req, 'cluster'));

  router.get('/api/clusters', (_req, res) => {
    res.json(clusters.names());
  });

  router.get('/api/clusters/:cluster/status', async (req, res) => {
    res.json(clusterStatusReply(await clusters.status(clusterOf(req))));
  });

  router.get('/api/clusters/:cluster/history', async (req, res) => {
    const name = clusterOf(req);
    const since = readQuery(req, 'since', historySinceQuery, HISTORY_SINCE_DEFAULT);
    res.json(historyReply(await clusters.history(name, since)));
  });

  router.get('/api/clusters/:cluster/nodes', async (req, res) => {
    const name = clusterOf(req);
    const partition = readQuery(req, 'partition', partitionQuery, undefined);
    if (!clusters.nodes) throw new ApiError(404, 'not-found', 'this companion does not list nodes');
    const nodes = await clusters.nodes(name);
    res.json(nodes.filter(n => partition === undefined || n.partitions.includes(partition)).map(clusterNodeReply));
  });

  // One route per action (not `/:action`), so the route list names each of them.
  for (const action of JOB_ACTIONS) {
    router.post(`/api/clusters/:cluster/jobs/:jobId/${action}`, async (req, res) => {
      const name = readParam(req, 'cluster');
      const jobId = readParam(req, 'jobId');
      await clusters.jobAction(knownCluster(name), jobId, action);
      res.status(204).end();
    });
  }
}
