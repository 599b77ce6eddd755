/** Contracts of the hpclab frontend: plugin ids and command ids. No side effects here. */
export const PLUGIN_ID = 'hpclab:plugin';

export namespace CommandIDs {
  export const showStatus = 'hpclab:show-status';
}
