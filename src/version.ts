/**
 * The release this extension belongs to, and the companion API it speaks. A unit test keeps
 * EXTENSION_VERSION equal to package.json's version, so a release changes both or fails.
 */
export const EXTENSION_VERSION = '0.1.0';
export const API_VERSION = 1;

/** What the companion says of itself (`GET /hpclab/api/version`); undefined when it has no such route. */
export interface CompanionVersion {
  version: string;
  api: number;
}

/** In plain words, what is wrong when the extension and the companion are not from one release; null when they are. */
export function versionProblem(companion: CompanionVersion | undefined): string | null {
  if (!companion) return `The hpclab companion is from an older release than this extension (${EXTENSION_VERSION}): update the companion (the hpclab npm package) and restart it.`;
  if (companion.api !== API_VERSION)
    return `The hpclab extension ${EXTENSION_VERSION} cannot work with companion ${companion.version} (API ${companion.api}, expected ${API_VERSION}): install the same release of both and restart JupyterLab.`;
  if (companion.version !== EXTENSION_VERSION)
    return `The hpclab extension (${EXTENSION_VERSION}) and companion (${companion.version}) are from different releases: install the same release of both.`;
  return null;
}
