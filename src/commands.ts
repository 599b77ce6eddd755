import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, showDialog, showErrorMessage, type ICommandPalette } from '@jupyterlab/apputils';
import type { TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import type { JobAction } from './api';
import { hpcIcon } from './icons';
import { createEnvInteractively } from './new-env';
import { AddClusterPanel } from './setup/add-cluster';
import { EditProfilesPanel } from './setup/edit-profiles';
import { setupContext } from './setup/context';
import { openSetupTab } from './setup/open';
import type { HpclabSidebar } from './sidebar/panel';
import { CommandIDs, SIDEBAR_ID, type IHpclabModel } from './tokens';

type ArgType = 'string' | 'boolean' | 'object';

/** A command's arguments as JSON Schema (`describedBy`), so the palette and other extensions know them. */
function takes(properties: Record<string, [ArgType, string]> = {}, required: string[] = []) {
  const props = Object.fromEntries(
    Object.entries(properties).map(([name, [type, description]]) => [name, { type, description }])
  );
  return { args: { type: 'object', properties: props, ...(required.length ? { required } : {}) } };
}

/** Every hpclab action as a command: buttons, launcher tiles and the palette all run these. */
export function registerCommands(
  app: JupyterFrontEnd,
  model: IHpclabModel,
  sidebar: HpclabSidebar,
  trans: TranslationBundle,
  palette?: ICommandPalette
): void {
  const { commands } = app;
  // Read at each use, never kept: the model is repointed when a restarted companion moves.
  const api = () => model.api;
  const fail = (title: string) => (err: unknown) => void showErrorMessage(title, (err as Error).message);
  const id = (args: Record<string, unknown>) => String(args.id ?? '');
  const words: Record<JobAction, string> = {
    cancel: trans.__('Cancel'),
    hold: trans.__('Hold'),
    release: trans.__('Release')
  };

  commands.addCommand(CommandIDs.openSidebar, {
    label: trans.__('Show the HPC sidebar'),
    icon: hpcIcon,
    describedBy: takes(),
    execute: () => app.shell.activateById(SIDEBAR_ID)
  });
  commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh cluster status'),
    icon: refreshIcon,
    describedBy: takes(),
    execute: () => model.refresh().catch(fail(trans.__('Cannot reach the cluster')))
  });

  commands.addCommand(CommandIDs.requestLab, {
    label: args =>
      args.profile ? trans.__('JupyterLab on a node (%1)', String(args.profile)) : trans.__('JupyterLab on a node'),
    caption: trans.__('Request a compute node running JupyterLab; it opens when the job starts'),
    icon: hpcIcon,
    describedBy: takes({
      profile: ['string', 'the profile to request; default: the defaultProfile setting, else the first']
    }),
    execute: async args => {
      const profile = String(args.profile ?? (model.settings.defaultProfile || model.profiles[0]?.name || ''));
      if (!profile)
        return void showErrorMessage(trans.__('No profile'), trans.__('The hpclab config has no profiles.'));
      const key = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      await api()
        .createSession({ kind: 'lab', profile }, key)
        .then(() => model.refresh(), fail(trans.__('Cannot request a session')));
      app.shell.activateById(SIDEBAR_ID);
    }
  });

  commands.addCommand(CommandIDs.openSession, {
    label: trans.__('Open the session in a new tab'),
    describedBy: takes({ id: ['string', 'the session id'] }, ['id']),
    execute: args => {
      const s = model.session(id(args));
      if (s) window.open(api().sessionUrl(s), '_blank', 'noopener');
    }
  });

  commands.addCommand(CommandIDs.stopSession, {
    label: trans.__('Stop session'),
    describedBy: takes({ id: ['string', 'the session id'] }, ['id']),
    execute: async args => {
      const s = model.session(id(args));
      if (!s) return;
      const answer = await showDialog({
        title: trans.__('Stop session?'),
        body: trans.__('This cancels job %1 (%2). Unsaved work on the node is lost.', s.jobId ?? '', s.profile),
        buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: trans.__('Stop') })]
      });
      if (answer.button.accept)
        await api()
          .stopSession(s.id)
          .then(() => model.refresh(), fail(trans.__('Cannot stop the session')));
    }
  });

  commands.addCommand(CommandIDs.jobAction, {
    label: args => trans.__('%1 job', words[args.action as JobAction] ?? String(args.action ?? '')),
    describedBy: takes(
      {
        cluster: ['string', 'the cluster'],
        jobId: ['string', 'the Slurm job id, like 123 or 123_4'],
        action: ['string', 'cancel, hold or release']
      },
      ['cluster', 'jobId', 'action']
    ),
    execute: async args => {
      const action = String(args.action) as JobAction;
      const jobId = String(args.jobId);
      const failed: Record<JobAction, string> = {
        cancel: trans.__('Cannot cancel job %1', jobId),
        hold: trans.__('Cannot hold job %1', jobId),
        release: trans.__('Cannot release job %1', jobId)
      };
      const answer = await showDialog({
        title: trans.__('%1 job %2?', words[action], jobId),
        body: trans.__('On cluster %1.', String(args.cluster)),
        buttons: [Dialog.cancelButton({ label: trans.__('Keep') }), Dialog.warnButton({ label: words[action] })]
      });
      if (!answer.button.accept) return;
      await api()
        .jobAction(String(args.cluster), jobId, action)
        .then(() => model.refresh(), fail(failed[action]));
    }
  });

  commands.addCommand(CommandIDs.openNotebook, {
    label: args =>
      args.profile ? trans.__('Notebook · %1', String(args.profile)) : trans.__('Notebook on a remote kernel'),
    caption: trans.__('A notebook whose kernel runs on a compute node'),
    icon: hpcIcon,
    describedBy: takes({
      profile: ['string', 'the profile the kernel runs with; default: the defaultProfile setting']
    }),
    execute: async args => {
      const profile = String(args.profile ?? model.settings.defaultProfile ?? '');
      try {
        // The kernelspec is written (or refreshed) by the companion where Jupyter looks.
        const spec = await api().addKernelspec({ profile });
        await app.serviceManager.kernelspecs.refreshSpecs();
        Notification.info(
          trans.__('Starting a kernel on %1 (%2): it waits for the allocation.', spec.metadata.cluster, profile),
          { autoClose: 6000 }
        );
        return await commands.execute('notebook:create-new', { kernelName: spec.name });
      } catch (err) {
        fail(trans.__('Cannot open a notebook on %1', profile))(err);
      }
    }
  });

  commands.addCommand(CommandIDs.discoverEnvs, {
    label: trans.__('Find Python environments on the cluster'),
    describedBy: takes({
      cluster: ['string', 'the cluster; default: the first'],
      refresh: ['boolean', 'ask the cluster again instead of the 10-minute cache']
    }),
    execute: async args => {
      const cluster = String(args.cluster ?? model.clusters[0] ?? '');
      await api()
        .envs(cluster, Boolean(args.refresh))
        .then(
          envs => sidebar.kernels.showEnvs(cluster, envs),
          err => sidebar.kernels.showEnvs(cluster, (err as Error).message)
        );
    }
  });

  commands.addCommand(CommandIDs.createEnv, {
    label: trans.__('New Python environment on the cluster'),
    describedBy: takes({ cluster: ['string', 'the cluster; default: the first'] }),
    execute: async args => {
      const cluster = String(args.cluster ?? model.clusters[0] ?? '');
      const profiles = model.profiles.filter(p => p.cluster === cluster).map(p => p.name);
      if (!(await createEnvInteractively({ api: api(), trans, cluster, profiles }))) return;
      await app.serviceManager.kernelspecs.refreshSpecs();
      // A failed refresh needs no dialog here: model.error carries it and the sidebar shows it.
      await model.refresh().catch(() => undefined);
    }
  });

  commands.addCommand(CommandIDs.addKernel, {
    label: trans.__('Add as kernel'),
    describedBy: takes(
      {
        profile: ['string', 'the profile'],
        cluster: ['string', 'the cluster'],
        env: ['object', 'the environment, as in config.json']
      },
      ['profile']
    ),
    execute: async args => {
      const spec = await api()
        .addKernelspec({
          profile: String(args.profile),
          cluster: String(args.cluster),
          env: args.env as Record<string, unknown>
        })
        .catch(fail(trans.__('Cannot add the kernel')));
      if (!spec) return;
      await app.serviceManager.kernelspecs.refreshSpecs();
      // A failed refresh needs no dialog here: model.error carries it and the sidebar shows it.
      await model.refresh().catch(() => undefined);
      Notification.success(trans.__('Added "%1" to the kernel picker.', spec.displayName), { autoClose: 5000 });
    }
  });

  commands.addCommand(CommandIDs.addCluster, {
    label: trans.__('Add a cluster…'),
    caption: trans.__(
      'Connect to a login node you reach with ssh, ask Slurm what it offers, and save proposed profiles'
    ),
    icon: hpcIcon,
    describedBy: takes(),
    execute: () =>
      void openSetupTab(
        app,
        'hpclab-add-cluster',
        trans.__('Add a cluster'),
        () => new AddClusterPanel(setupContext(model, commands, trans))
      )
  });

  commands.addCommand(CommandIDs.editProfiles, {
    label: trans.__('Edit profiles…'),
    caption: trans.__('Change, add or remove hpclab profiles without editing JSON'),
    describedBy: takes({ name: ['string', 'a profile to select in the editor'] }),
    execute: args => {
      const name = args.name ? String(args.name) : undefined;
      const panel = openSetupTab(
        app,
        'hpclab-edit-profiles',
        trans.__('hpclab profiles'),
        () => new EditProfilesPanel(setupContext(model, commands, trans))
      );
      if (name) panel.select(name);
    }
  });

  for (const command of [
    CommandIDs.openSidebar,
    CommandIDs.refresh,
    CommandIDs.requestLab,
    CommandIDs.openNotebook,
    CommandIDs.discoverEnvs,
    CommandIDs.addCluster,
    CommandIDs.editProfiles
  ])
    palette?.addItem({ command, category: trans.__('HPC') });
}
