import { API_VERSION } from './contract';
import { english, type Words } from './translate';

export { API_VERSION };

/**
 * The release this extension belongs to, and the companion API it speaks. A unit test keeps
 * EXTENSION_VERSION equal to package.json's version, so a release changes both or fails.
 */
export const EXTENSION_VERSION = '0.1.0';

/** What the companion says of itself (`GET /hpclab/api/version`); undefined when it has no such route. */
export interface CompanionVersion {
  version: string;
  api: number;
}

/** In plain words, what is wrong when the extension and the companion are not from one release; null when they are. */
export function versionProblem(companion: CompanionVersion | undefined, trans: Words = english): string | null {
  if (!companion)
    return trans.__(
      'The hpclab companion is from an older release than this extension (%1): update the companion (the hpclab npm package) and restart it.',
      EXTENSION_VERSION
    );
  if (companion.api !== API_VERSION)
    return trans.__(
      'The hpclab extension %1 cannot work with companion %2 (API %3, expected %4): install the same release of both and restart JupyterLab.',
      EXTENSION_VERSION,
      companion.version,
      companion.api,
      API_VERSION
    );
  if (companion.version !== EXTENSION_VERSION)
    return trans.__(
      'The hpclab extension (%1) and companion (%2) are from different releases: install the same release of both.',
      EXTENSION_VERSION,
      companion.version
    );
  return null;
}
