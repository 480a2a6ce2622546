// A stub of the parts of `vscode` that src/vscodeApi.ts uses. Tests arrange and inspect it
// through `fake`.
import type * as vscode from 'vscode';

export interface Disposable {
  dispose(): void;
}
const disposable: Disposable = { dispose: () => undefined };

export class FakeOutputChannel implements vscode.OutputChannel {
  text = '';
  shown = false;
  constructor(readonly name: string) {}
  append(value: string): void {
    this.text += value;
  }
  appendLine(value: string): void {
    this.text += `${value}\n`;
  }
  replace(value: string): void {
    this.text = value;
  }
  clear(): void {
    this.text = '';
  }
  show(): void {
    this.shown = true;
  }
  hide(): void {
    this.shown = false;
  }
  dispose(): void {
    this.shown = false;
  }
}

export class MarkdownString {
  constructor(
    readonly value = '',
    readonly supportThemeIcons = false,
  ) {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export class FakeStatusBarItem {
  name = '';
  text = '';
  command: string | undefined;
  tooltip: MarkdownString | undefined;
  backgroundColor: ThemeColor | undefined;
  visible = false;
  constructor(readonly id: string) {}
  show(): void {
    this.visible = true;
  }
  dispose(): void {
    this.visible = false;
  }
}

export class FakeSecretStorage implements vscode.SecretStorage {
  readonly values = new Map<string, string>();
  get(key: string): Promise<string | undefined> {
    return Promise.resolve(this.values.get(key));
  }
  store(key: string, value: string): Promise<void> {
    this.values.set(key, value);
    return Promise.resolve();
  }
  delete(key: string): Promise<void> {
    this.values.delete(key);
    return Promise.resolve();
  }
  onDidChange = () => disposable;
}

interface Message {
  kind: 'info' | 'warning' | 'error';
  message: string;
  actions: string[];
  detail?: string;
}

type ConfigurationListener = (event: { affectsConfiguration(section: string): boolean }) => unknown;

function initialState() {
  return {
    /** Full keys (`ladder.local.baseUrl`) → values. */
    settings: new Map<string, unknown>(),
    extensions: new Map<string, unknown>(),
    /** `env.remoteName`: set to act as a remote window. */
    remoteName: undefined as string | undefined,
    commands: new Map<string, (...args: unknown[]) => unknown>(),
    executed: [] as { id: string; args: unknown[] }[],
    messages: [] as Message[],
    /** Which action the user clicks in a message; undefined closes it. */
    answerMessage: undefined as ((message: Message) => string | undefined) | undefined,
    quickPicks: [] as { items: readonly unknown[]; options: unknown }[],
    pickItem: (items: readonly unknown[]): unknown => items[0],
    inputBoxes: [] as { password?: boolean }[],
    inputBoxAnswer: undefined as string | undefined,
    documents: [] as { language: string; content: string; uri: { path: string } }[],
    channels: [] as FakeOutputChannel[],
    statusItems: [] as FakeStatusBarItem[],
    configurationListeners: [] as ConfigurationListener[],
  };
}

export const fake = {
  ...initialState(),
  reset(): void {
    Object.assign(fake, initialState());
  },
  /** Runs a command registered through `commands.registerCommand`. */
  async run(id: string): Promise<void> {
    const command = fake.commands.get(id);
    if (!command) throw new Error(`command ${id} is not registered`);
    await command();
  },
  changeSetting(key: string, value: unknown): void {
    fake.settings.set(key, value);
    for (const listener of fake.configurationListeners) {
      listener({
        affectsConfiguration: (section) => key === section || key.startsWith(`${section}.`),
      });
    }
  },
};

export const workspace = {
  getConfiguration: (section: string) => ({
    get: (key: string): unknown => fake.settings.get(`${section}.${key}`),
  }),
  onDidChangeConfiguration(listener: ConfigurationListener): Disposable {
    fake.configurationListeners.push(listener);
    return disposable;
  },
  workspaceFolders: undefined,
  openTextDocument(options: { language: string; content: string }) {
    const document = { ...options, uri: { path: `Untitled-${fake.documents.length + 1}` } };
    fake.documents.push(document);
    return Promise.resolve(document);
  },
};

export const env = {
  get remoteName(): string | undefined {
    return fake.remoteName;
  },
};

export const extensions = {
  getExtension: (id: string): unknown => fake.extensions.get(id),
};

export const commands = {
  registerCommand(id: string, run: (...args: unknown[]) => unknown): Disposable {
    fake.commands.set(id, run);
    return disposable;
  },
  executeCommand(id: string, ...args: unknown[]): Promise<unknown> {
    fake.executed.push({ id, args });
    return Promise.resolve(fake.commands.get(id)?.(...args));
  },
};

function message(
  kind: Message['kind'],
  text: string,
  rest: unknown[],
): Promise<string | undefined> {
  const [first, ...others] = rest;
  const options =
    typeof first === 'object' && first !== null ? (first as { detail?: string }) : undefined;
  const actions = (options ? others : rest) as string[];
  const shown: Message = {
    kind,
    message: text,
    actions,
    ...(options?.detail ? { detail: options.detail } : {}),
  };
  fake.messages.push(shown);
  return Promise.resolve(fake.answerMessage?.(shown));
}

export const window = {
  createOutputChannel(name: string): FakeOutputChannel {
    const channel = new FakeOutputChannel(name);
    fake.channels.push(channel);
    return channel;
  },
  createStatusBarItem(id: string): FakeStatusBarItem {
    const item = new FakeStatusBarItem(id);
    fake.statusItems.push(item);
    return item;
  },
  showQuickPick(items: readonly unknown[], options: unknown): Promise<unknown> {
    fake.quickPicks.push({ items, options });
    return Promise.resolve(fake.pickItem(items));
  },
  showInputBox(options: { password?: boolean }): Promise<string | undefined> {
    fake.inputBoxes.push(options);
    return Promise.resolve(fake.inputBoxAnswer);
  },
  showInformationMessage: (text: string, ...rest: unknown[]) => message('info', text, rest),
  showWarningMessage: (text: string, ...rest: unknown[]) => message('warning', text, rest),
  showErrorMessage: (text: string, ...rest: unknown[]) => message('error', text, rest),
};
