import type { ProfileConfig } from '../config/schema';
import type { SubmitOptions } from '../scheduler/types';
import { checkSubmitOptions } from '../scheduler/validate';
import { renderAllocationScript } from './allocation-script';
import { labSubmitOptions, renderLabJobScript, requestsGpu, workspaceStartLines } from './job-script';
import type { CreateSessionRequest } from './types';

/** What a request submits: where the session lives, the checked sbatch options and the job script. */
export interface SubmitPlan {
  sessionDir: string;
  baseUrl: string;
  options: SubmitOptions;
  script: string;
}

/** Plans session `id` of `request` for a user whose home on the cluster is `home`. Runs nothing. */
export function planSubmission(
  request: CreateSessionRequest,
  id: string,
  profile: ProfileConfig,
  home: string,
  nodeChannels: 'relay' | 'tcp' = 'relay'
): SubmitPlan {
  const sessionDir = `${home}/.hpclab/sessions/${id}`;
  const baseUrl = `/hpclab/node/${id}/`;
  const { options, extra } = labSubmitOptions({
    sessionId: id,
    sessionDir,
    homeDir: home,
    profile,
    overrides: request.overrides
  });
  // Kind and profile ride along in the comment, so a companion that lost its store re-adopts.
  options.comment = `hpclab:${id}:${request.kind}:${request.profile}`;
  // A Lab or kernel requeued after a node failure would restart empty, elsewhere, unseen: end it
  // instead, so the session says "node failure" with the log tail.
  options.noRequeue = true;
  // The profile's own sbatch options (mail events, exclusive, licenses…): sessions and kernels alike.
  if (Object.keys(extra).length > 0) options.sbatch = extra;
  checkSubmitOptions(options); // bad overrides fail here, before anything runs on the cluster
  const script =
    request.kind === 'kernel'
      ? renderAllocationScript({ sessionId: id, sessionDir, holdMinutes: profile.kernelHoldMinutes, nodeChannels })
      : request.kind === 'alloc'
        ? renderAllocationScript({
            sessionId: id,
            sessionDir,
            nodeChannels,
            held: { before: workspaceStartLines(profile.workspace) }
          })
        : renderLabJobScript({
            sessionId: id,
            baseUrl,
            sessionDir,
            profile,
            gpu: requestsGpu(options.gres),
            nodeChannels
          });
  return { sessionDir, baseUrl, options, script };
}
