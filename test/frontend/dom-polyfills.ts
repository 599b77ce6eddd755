/*
 * What jsdom lacks and @lumino/widgets needs when it loads (its drag-and-drop reads DragEvent).
 * Import this first in a test that builds widgets.
 */
if (typeof globalThis.DragEvent === 'undefined') {
  (globalThis as unknown as { DragEvent: unknown }).DragEvent = class DragEvent extends MouseEvent {};
}
export {};
