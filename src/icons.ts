import { LabIcon } from '@jupyterlab/ui-components';

/** A compute node: a rack unit with status lights. Filled with the theme's icon colour. */
const NODE_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 4h18a1 1 0 0 1 1 1v4a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1zm2 2v2h2V6zm4 0v2h2V6z"/>
    <path d="M3 14h18a1 1 0 0 1 1 1v4a1 1 0 0 1-1 1H3a1 1 0 0 1-1-1v-4a1 1 0 0 1 1-1zm2 2v2h2v-2zm4 0v2h2v-2z"/>
  </g>
</svg>`;

export const hpcIcon = new LabIcon({ name: 'hpclab:node', svgstr: NODE_SVG });
