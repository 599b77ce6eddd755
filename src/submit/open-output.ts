import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { IHpclabModel } from '../tokens';

/** Where a run's fetched outputs land in the Jupyter root: beside the user's work, by run. */
export function localOutputPath(runId: string, outputPath: string): string {
  return `hpclab-runs/${runId}/${outputPath}`;
}

/**
 * Fetches one output of a run (an executed notebook, a log) from the cluster through the
 * companion, writes it under hpclab-runs/RUN/ in the Jupyter root (folders made as needed; an
 * earlier copy is replaced: the cluster's is the truth) and opens it.
 */
export async function openRunOutput(
  app: JupyterFrontEnd,
  model: IHpclabModel,
  cluster: string,
  runId: string,
  outputPath: string
): Promise<string> {
  const text = await model.api.runOutput(cluster, runId, outputPath);
  const target = localOutputPath(runId, outputPath);
  const { contents } = app.serviceManager;
  const parts = target.split('/');
  for (let i = 1; i < parts.length; i++) await contents.save(parts.slice(0, i).join('/'), { type: 'directory' });
  await contents.save(target, { type: 'file', format: 'text', content: text });
  await app.commands.execute('docmanager:open', { path: target });
  return target;
}
