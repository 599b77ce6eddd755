import { MainAreaWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import type { HpclabApi } from './api';
import { hpcIcon } from './icons';

/** A session's job log that follows new output while the tab is open (`?follow=1`). */
export function openLogViewer(api: HpclabApi, sessionId: string, title: string): MainAreaWidget {
  const content = new Widget();
  content.addClass('jp-hpclab-log');
  const pre = document.createElement('pre');
  content.node.append(pre);
  const widget = new MainAreaWidget({ content });
  widget.id = `hpclab-log-${sessionId}`;
  widget.title.label = title;
  widget.title.icon = hpcIcon;
  widget.title.closable = true;
  const abort = new AbortController();
  widget.disposed.connect(() => abort.abort());
  void (async () => {
    try {
      const res = await fetch(api.url(`api/sessions/${encodeURIComponent(sessionId)}/log?tail=65536&follow=1`), { credentials: 'same-origin', signal: abort.signal });
      if (!res.ok || !res.body) throw new Error(`the companion answered ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const atEnd = content.node.scrollTop + content.node.clientHeight >= content.node.scrollHeight - 4;
        pre.textContent += value;
        if (atEnd) content.node.scrollTop = content.node.scrollHeight;
      }
    } catch (err) {
      if (!abort.signal.aborted) pre.textContent += `\n[hpclab: the log stopped: ${(err as Error).message}]`;
    }
  })();
  return widget;
}
