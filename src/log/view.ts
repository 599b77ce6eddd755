import { Widget } from '@lumino/widgets';
import type { Words } from '../translate';
import type { IHpclabModel } from '../tokens';

/**
 * A session's job log that follows new output while the tab is open. It asks through the
 * model's API client, so the token reaches a companion on another origin, and it waits for the
 * model's first answer: a tab the layout restorer reopens runs before the companion is located.
 */
export class LogView extends Widget {
  /** Settles when the stream ended: the session is over, the tab closed, or it failed (said in the text). */
  readonly done: Promise<void>;
  private readonly text = document.createElement('pre');
  private readonly abort = new AbortController();

  constructor(
    readonly sessionId: string,
    private readonly model: IHpclabModel,
    private readonly trans: Words
  ) {
    super();
    this.addClass('jp-hpclab-log');
    this.node.dataset.hpclabLog = sessionId;
    this.node.append(this.text);
    this.title.closable = true;
    this.label();
    // The job id arrives with the model (a restored tab opens before it has loaded).
    model.changed.connect(this.label, this);
    this.done = this.follow();
  }

  dispose(): void {
    this.abort.abort();
    super.dispose();
  }

  private label(): void {
    this.title.label = this.trans.__('Log %1', this.model.session(this.sessionId)?.jobId ?? this.sessionId);
  }

  private async follow(): Promise<void> {
    try {
      await loaded(this.model);
      for await (const chunk of this.model.api.sessionLog(this.sessionId, {
        follow: true,
        signal: this.abort.signal
      })) {
        const atEnd = this.node.scrollTop + this.node.clientHeight >= this.node.scrollHeight - 4;
        this.text.append(chunk);
        if (atEnd) this.node.scrollTop = this.node.scrollHeight;
      }
    } catch (err) {
      // Closing the tab aborts the request: nothing to say then.
      if (!this.abort.signal.aborted)
        this.text.append(`\n[${this.trans.__('hpclab: the log stopped: %1', (err as Error).message)}]`);
    }
  }
}

/** Resolves once the model has answered (or failed) its first refresh. */
function loaded(model: IHpclabModel): Promise<void> {
  if (model.loaded) return Promise.resolve();
  return new Promise(resolve => {
    const check = () => {
      if (!model.loaded) return;
      model.changed.disconnect(check);
      resolve();
    };
    model.changed.connect(check);
  });
}
