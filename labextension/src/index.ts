// jupyter-containers: a Containers sidebar, container actions, logs, terminals and compose.
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Dialog, ICommandPalette, InputDialog, MainAreaWidget, Notification, showDialog } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IFileBrowserFactory } from '@jupyterlab/filebrowser';
import type { Terminal } from '@jupyterlab/terminal';

import { APIError, errorMessage, IContainer, IStack, requestAPI } from './api';
import { LogsView, createLogsPanel } from './logs';
import { ContainersSidebar, CONTAINER_CLASS, IMAGE_CLASS, STACK_CLASS } from './sidebar';

const CATEGORY = 'Containers';
const COMPOSE_FILE = /^(docker-)?compose(\.[\w-]+)?\.ya?ml$/;

namespace CommandIDs {
  export const refresh = 'containers:refresh';
  export const open = 'containers:open-sidebar';
  export const start = 'containers:start';
  export const stop = 'containers:stop';
  export const restart = 'containers:restart';
  export const pause = 'containers:pause';
  export const unpause = 'containers:unpause';
  export const remove = 'containers:remove';
  export const logs = 'containers:show-logs';
  export const terminal = 'containers:open-terminal';
  export const stopPrompt = 'containers:stop-prompt';
  export const logsPrompt = 'containers:show-logs-prompt';
  export const terminalPrompt = 'containers:open-terminal-prompt';
  export const stackDown = 'containers:stack-down';
  export const removeImage = 'containers:remove-image';
  export const composeUp = 'containers:compose-up';
  export const composeDown = 'containers:compose-down';
}

const ACTIVE = ['running', 'paused', 'restarting'];

/** Compose's default project name for a directory. */
function projectName(dir: string): string {
  return PathExt.basename(dir).toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * `pending` while `work` runs, then its outcome in a notification of its own. Not
 * Notification.update (nor Notification.promise, which updates): an answer that comes
 * before JupyterLab has drawn the pending toast loses the update, and the spinner never closes.
 */
async function notifyDuring<T>(
  pending: string,
  work: Promise<T>,
  done: (result: T) => string,
  failed: (error: unknown) => [string, Notification.TypeOptions]
): Promise<T | undefined> {
  const id = Notification.emit(pending, 'in-progress', { autoClose: false });
  try {
    const result = await work;
    Notification.dismiss(id);
    Notification.success(done(result), { autoClose: 5000 });
    return result;
  } catch (error) {
    Notification.dismiss(id);
    const [message, type] = failed(error);
    Notification.emit(message, type, { autoClose: 10000 });
    return undefined;
  }
}

const plugin: JupyterFrontEndPlugin<ContainersSidebar> = {
  id: 'jupyter-containers-labextension:plugin',
  description: 'A Containers sidebar: containers, stacks and images, with actions, logs and terminals.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, IFileBrowserFactory],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    browsers: IFileBrowserFactory | null
  ): ContainersSidebar => {
    const { commands, shell } = app;
    const sidebar = new ContainersSidebar();
    shell.add(sidebar, 'left', { rank: 750 });
    restorer?.add(sidebar, 'jupyter-containers-sidebar');

    /** The container a command is about: its `id` argument, else the row right-clicked or selected. */
    const target = (args: { id?: unknown }): IContainer | undefined => {
      if (typeof args.id === 'string') {
        return sidebar.container(args.id) ?? sidebar.all.find(c => c.name === args.id || c.id.startsWith(args.id as string));
      }
      const row =
        app.contextMenuHitTest(node => node.classList.contains(CONTAINER_CLASS)) ??
        sidebar.containers.node.querySelector<HTMLElement>(`.${CONTAINER_CLASS}.jp-mod-selected`) ??
        undefined;
      return row?.dataset.id ? sidebar.container(row.dataset.id) : undefined;
    };

    const act = async (verb: string, container: IContainer): Promise<void> => {
      try {
        const updated = await requestAPI<IContainer>(`containers/${encodeURIComponent(container.id)}/${verb}`, 'POST');
        if (updated) {
          sidebar.updateOne(updated);
        }
      } catch (error) {
        Notification.error(`${verb} ${container.name}: ${errorMessage(error)}`, { autoClose: 8000 });
      }
      void sidebar.refresh();
    };

    const action = (id: string, verb: string, label: string, states: string[] | null, visible?: string[]) => {
      commands.addCommand(id, {
        label: args => (args.id ? `${label} ${args.id}` : label),
        caption: `${label} the container`,
        isEnabled: args => {
          const c = target(args);
          return !!c && (!states || states.includes(c.state));
        },
        isVisible: args => {
          const c = target(args);
          return !visible || !c || visible.includes(c.state);
        },
        execute: async args => {
          const c = target(args);
          if (c) {
            await act(verb, c);
          }
        }
      });
    };
    action(CommandIDs.start, 'start', 'Start', ['created', 'exited', 'dead']);
    action(CommandIDs.stop, 'stop', 'Stop', ACTIVE);
    action(CommandIDs.restart, 'restart', 'Restart', null);
    action(CommandIDs.pause, 'pause', 'Pause', ['running'], ['running', 'restarting', 'created', 'exited', 'dead']);
    action(CommandIDs.unpause, 'unpause', 'Unpause', ['paused'], ['paused']);

    commands.addCommand(CommandIDs.remove, {
      label: 'Remove…',
      caption: 'Remove the container (stopping it first)',
      isEnabled: args => !!target(args),
      execute: async args => {
        const c = target(args);
        if (!c) {
          return;
        }
        const answer = await showDialog({
          title: 'Remove container',
          body: `Remove ${c.name} (${c.short_id})?${ACTIVE.includes(c.state) ? ' It is running and will be stopped.' : ''}`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
        });
        if (!answer.button.accept) {
          return;
        }
        try {
          await requestAPI(`containers/${encodeURIComponent(c.id)}?force=1`, 'DELETE');
        } catch (error) {
          Notification.error(`remove ${c.name}: ${errorMessage(error)}`, { autoClose: 8000 });
        }
        await sidebar.refresh();
      }
    });

    const showLogs = (c: IContainer): MainAreaWidget<LogsView> => {
      const id = `jupyter-containers-logs-${c.id}`;
      for (const widget of shell.widgets('main')) {
        if (widget.id === id) {
          shell.activateById(id);
          return widget as MainAreaWidget<LogsView>;
        }
      }
      const panel = createLogsPanel(c.id, c.name);
      shell.add(panel, 'main');
      shell.activateById(panel.id);
      return panel;
    };
    commands.addCommand(CommandIDs.logs, {
      label: 'Show Logs',
      caption: 'Follow the container’s logs in a panel',
      isEnabled: args => !!target(args),
      execute: args => {
        const c = target(args);
        return c ? showLogs(c) : undefined;
      }
    });
    sidebar.containers.node.addEventListener('dblclick', event => {
      const row = (event.target as HTMLElement).closest<HTMLElement>(`.${CONTAINER_CLASS}`);
      const c = row?.dataset.id ? sidebar.container(row.dataset.id) : undefined;
      if (c && !(event.target as HTMLElement).closest('a')) {
        showLogs(c);
      }
    });

    const openTerminal = async (c: IContainer) => {
      let url: string;
      try {
        const engine = await sidebar.engine();
        if (!engine.allowed_actions.includes('exec')) {
          // the terminal runs `docker exec`: the same rule as every other exec (a guard rail, see the README)
          throw new Error("the 'exec' action is not allowed here (ContainersPolicy.allowed_actions)");
        }
        url = engine.url;
      } catch (error) {
        Notification.error(`terminal: ${errorMessage(error)}`, { autoClose: 8000 });
        return;
      }
      const widget = (await commands.execute('terminal:create-new')) as MainAreaWidget<Terminal>;
      await widget.content.ready; // its xterm is made asynchronously, then it watches the connection
      const session = widget.content.session;
      if (session.connectionStatus !== 'connected') {
        await new Promise<void>(resolve => {
          const changed = (_: unknown, status: string) => {
            if (status === 'connected') {
              session.connectionStatusChanged.disconnect(changed);
              resolve();
            }
          };
          session.connectionStatusChanged.connect(changed);
        });
      }
      // After the terminal's own "Terminal N" (set once connected); the main area tab mirrors the content's title.
      widget.content.title.label = `${c.name} (sh)`;
      session.send({ type: 'stdin', content: [`DOCKER_HOST=${shellQuote(url)} docker exec -it ${c.id} sh\r`] });
      return widget;
    };
    commands.addCommand(CommandIDs.terminal, {
      label: 'Open Terminal in Container',
      caption: 'A JupyterLab terminal running `docker exec -it <id> sh`',
      isEnabled: args => {
        const c = target(args);
        return !!c && c.state === 'running' && commands.hasCommand('terminal:create-new');
      },
      execute: args => {
        const c = target(args);
        return c ? openTerminal(c) : undefined;
      }
    });

    /** Ask which container, among those in `states` (all when null). */
    const pick = async (title: string, states: string[] | null): Promise<IContainer | undefined> => {
      await sidebar.refresh().catch(() => undefined);
      const choices = sidebar.all.filter(c => !states || states.includes(c.state));
      if (!choices.length) {
        Notification.info(`${title}: no container to choose from`, { autoClose: 4000 });
        return undefined;
      }
      const label = (c: IContainer) => `${c.name} (${c.short_id}, ${c.image})`;
      const answer = await InputDialog.getItem({ title, items: choices.map(label) });
      return answer.button.accept ? choices.find(c => label(c) === answer.value) : undefined;
    };
    commands.addCommand(CommandIDs.stopPrompt, {
      label: 'Stop Container…',
      execute: async () => {
        const c = await pick('Stop container', ACTIVE);
        if (c) {
          await act('stop', c);
        }
      }
    });
    commands.addCommand(CommandIDs.logsPrompt, {
      label: 'Show Container Logs…',
      execute: async () => {
        const c = await pick('Show logs of', null);
        return c ? showLogs(c) : undefined;
      }
    });
    commands.addCommand(CommandIDs.terminalPrompt, {
      label: 'Open Terminal in Container…',
      isEnabled: () => commands.hasCommand('terminal:create-new'),
      execute: async () => {
        const c = await pick('Open a terminal in', ['running']);
        return c ? openTerminal(c) : undefined;
      }
    });
    commands.addCommand(CommandIDs.refresh, {
      label: 'Refresh Containers',
      execute: () => sidebar.refresh()
    });
    commands.addCommand(CommandIDs.open, {
      label: 'Open Containers Sidebar',
      execute: async () => {
        await app.restored; // a layout being restored would hide the panel again
        shell.activateById(sidebar.id);
      }
    });

    // Stacks and images in the sidebar.
    const stackTarget = () => app.contextMenuHitTest(node => node.classList.contains(STACK_CLASS))?.dataset.project;
    const composeDown = async (project: string): Promise<void> => {
      await notifyDuring(
        `Compose down: ${project}…`,
        requestAPI<null>('stacks/down', 'POST', { project }),
        () => `Compose down: ${project} removed`,
        error => [`Compose down: ${errorMessage(error)}`, 'error']
      );
      void sidebar.refresh();
    };
    commands.addCommand(CommandIDs.stackDown, {
      label: 'Compose Down',
      caption: 'Stop and remove the stack’s containers and networks',
      isEnabled: args => !!(args.project ?? stackTarget()),
      execute: async args => {
        const project = (args.project as string | undefined) ?? stackTarget();
        if (project) {
          await composeDown(project);
        }
      }
    });
    commands.addCommand(CommandIDs.removeImage, {
      label: 'Remove Image…',
      isEnabled: () => !!app.contextMenuHitTest(node => node.classList.contains(IMAGE_CLASS)),
      execute: async () => {
        const ref = app.contextMenuHitTest(node => node.classList.contains(IMAGE_CLASS))?.dataset.ref;
        if (!ref) {
          return;
        }
        const answer = await showDialog({
          title: 'Remove image',
          body: `Remove ${ref}?`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
        });
        if (answer.button.accept) {
          try {
            await requestAPI(`images/${encodeURIComponent(ref)}`, 'DELETE');
          } catch (error) {
            Notification.error(`remove image ${ref}: ${errorMessage(error)}`, { autoClose: 8000 });
          }
          await sidebar.refresh();
        }
      }
    });

    // Compose files in the file browser.
    const composeFile = (args: { path?: unknown }): string | undefined => {
      if (typeof args.path === 'string') {
        return args.path;
      }
      const item = browsers?.tracker.currentWidget?.selectedItems().next();
      const model = item && !item.done ? item.value : undefined;
      return model && model.type !== 'directory' && COMPOSE_FILE.test(model.name) ? model.path : undefined;
    };
    commands.addCommand(CommandIDs.composeUp, {
      label: 'Compose Up',
      caption: 'Create and start the stack of this compose file',
      isVisible: args => !!composeFile(args),
      execute: async args => {
        const path = composeFile(args);
        if (!path) {
          return;
        }
        await notifyDuring(
          `Compose up: ${path}…`,
          requestAPI<{ project: string; services: unknown[] }>('stacks/up', 'POST', { path }),
          result => `Compose up: ${result.project} (${result.services.length} services)`,
          error => [
            `Compose up: ${errorMessage(error)}`,
            error instanceof APIError && error.status === 501 ? 'warning' : 'error'
          ]
        );
        void sidebar.refresh();
      }
    });
    commands.addCommand(CommandIDs.composeDown, {
      label: 'Compose Down',
      caption: 'Stop and remove the stack of this compose file',
      isVisible: args => !!composeFile(args),
      execute: async args => {
        const path = composeFile(args);
        if (!path) {
          return;
        }
        let project = projectName(PathExt.dirname(path));
        try {
          const stacks = await requestAPI<IStack[]>('stacks');
          const match = stacks.find(s => s.config_files.some(f => f === path || f.endsWith(`/${path}`)));
          project = match?.name ?? project;
        } catch {
          // fall back to compose's default name
        }
        if (!project) {
          Notification.warning(`Compose down: no stack was started from ${path}`, { autoClose: 6000 });
          return;
        }
        await composeDown(project);
      }
    });

    // Menus.
    const menu = app.contextMenu;
    const row = `.${CONTAINER_CLASS}`;
    [CommandIDs.start, CommandIDs.stop, CommandIDs.restart, CommandIDs.pause, CommandIDs.unpause].forEach((command, rank) =>
      menu.addItem({ command, selector: row, rank: rank + 1 })
    );
    menu.addItem({ type: 'separator', selector: row, rank: 10 });
    menu.addItem({ command: CommandIDs.logs, selector: row, rank: 11 });
    menu.addItem({ command: CommandIDs.terminal, selector: row, rank: 12 });
    menu.addItem({ type: 'separator', selector: row, rank: 20 });
    menu.addItem({ command: CommandIDs.remove, selector: row, rank: 21 });
    menu.addItem({ command: CommandIDs.stackDown, selector: `.${STACK_CLASS}`, rank: 1 });
    menu.addItem({ command: CommandIDs.removeImage, selector: `.${IMAGE_CLASS}`, rank: 1 });
    const file = '.jp-DirListing-item[data-isdir="false"]';
    menu.addItem({ command: CommandIDs.composeUp, selector: file, rank: 60 });
    menu.addItem({ command: CommandIDs.composeDown, selector: file, rank: 61 });

    for (const command of [
      CommandIDs.open,
      CommandIDs.refresh,
      CommandIDs.stopPrompt,
      CommandIDs.logsPrompt,
      CommandIDs.terminalPrompt
    ]) {
      palette?.addItem({ command, category: CATEGORY });
    }
    return sidebar;
  }
};

export default plugin;
