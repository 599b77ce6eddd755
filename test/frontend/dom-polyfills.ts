/*
 * What jsdom lacks and the frontend needs: @lumino/widgets reads DragEvent when it loads; the
 * API client decodes a streamed reply (the session log) with TextDecoder. Node has both kinds of
 * object; jsdom's window does not expose them. Import this first in a test that builds widgets.
 */
if (typeof globalThis.DragEvent === 'undefined') {
  (globalThis as unknown as { DragEvent: unknown }).DragEvent = class DragEvent extends MouseEvent {};
}
if (typeof globalThis.TextDecoder === 'undefined') {
  globalThis.TextDecoder = jest.requireActual<{ TextDecoder: typeof TextDecoder }>('util').TextDecoder;
}
export {};
