import { CommandRegistry } from '@lumino/commands';
import { MessageLoop } from '@lumino/messaging';
import { Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { HpclabApi } from '../../src/api';
import type { ClusterStatus, Kernelspec, LinkEvent, Profile, RunList, Session } from '../../src/contract';
import type { SectionContext } from '../../src/sidebar/section';
import { DEFAULT_SETTINGS, type HpclabSettings, type IHpclabModel, type LiveEvent } from '../../src/tokens';
import { english } from '../../src/translate';

/**
 * The model as widgets see it (IHpclabModel), with state a test sets directly: `set` changes it
 * and fires `changed`, as the real model does after a refresh that changed something.
 */
export class FakeModel implements IHpclabModel {
  clusters: string[] = [];
  status = new Map<string, ClusterStatus>();
  runs = new Map<string, RunList>();
  links = new Map<string, LinkEvent>();
  sessions: Session[] = [];
  profiles: Profile[] = [];
  kernelspecs: Kernelspec[] = [];
  error: string | null = null;
  loaded = true;
  versionProblem: string | null = null;
  settings: HpclabSettings = { ...DEFAULT_SETTINGS };
  readonly dismissed = new Set<string>();
  readonly changed: Signal<IHpclabModel, void> = new Signal(this);
  readonly settingsChanged: Signal<IHpclabModel, HpclabSettings> = new Signal(this);
  readonly events: Signal<IHpclabModel, LiveEvent> = new Signal(this);
  readonly refresh = jest.fn(async () => undefined);

  constructor(
    public api: HpclabApi = new HpclabApi('', (async () =>
      Promise.reject(new TypeError('no network in this test'))) as unknown as typeof fetch)
  ) {}

  set(
    state: Partial<
      Pick<
        FakeModel,
        | 'clusters'
        | 'status'
        | 'runs'
        | 'links'
        | 'sessions'
        | 'profiles'
        | 'kernelspecs'
        | 'error'
        | 'loaded'
        | 'versionProblem'
      >
    >
  ): void {
    Object.assign(this, state);
    this.changed.emit();
  }

  session(id: string): Session | undefined {
    return this.sessions.find(s => s.id === id);
  }

  nearestEnding(): Session | undefined {
    return this.sessions
      .filter(s => s.state === 'running' && s.endsAt)
      .sort((a, b) => Date.parse(a.endsAt!) - Date.parse(b.endsAt!))[0];
  }

  dismiss(sessionId: string): void {
    this.dismissed.add(sessionId);
    this.changed.emit();
  }
}

/** The commands a widget ran, by id and args, instead of running them. */
export function recordingCommands(ids: string[]): { commands: CommandRegistry; ran: { id: string; args: unknown }[] } {
  const commands = new CommandRegistry();
  const ran: { id: string; args: unknown }[] = [];
  for (const id of ids) commands.addCommand(id, { execute: args => void ran.push({ id, args }) });
  return { commands, ran };
}

export function sectionContext(model: FakeModel, commands = new CommandRegistry()): SectionContext {
  return { model, commands, trans: english };
}

const attached: Widget[] = [];

/** Attaches the widget to the page and runs its pending redraw now. */
export function shown<T extends Widget>(widget: T): T {
  Widget.attach(widget, document.body);
  attached.push(widget);
  MessageLoop.flush();
  return widget;
}

/** Redraws what the last model change asked for (Lumino batches redraws to the next frame). */
export const redraw = () => MessageLoop.flush();

export function disposeShown(): void {
  for (const w of attached.splice(0)) w.dispose();
}
