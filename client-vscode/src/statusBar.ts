// The status bar item: the server's `ladder/status` payload (protocol.ts) rendered as text and
// tooltip.
import type { StatusBarItem } from 'vscode';
import { usd } from './json';
import { readStatus } from './protocol';
import * as vscode from './vscodeApi';

export interface StatusView {
  text: string;
  /** Markdown, with $(icon) syntax. */
  tooltip: string;
  background?: 'warning' | 'error';
}

export const STARTING: StatusView = {
  text: '$(sync~spin) Ladder',
  tooltip: 'Starting the Ladder server…',
};

export const stoppedView = (reason: string): StatusView => ({
  text: '$(hubot) stopped',
  tooltip: `**Ladder server not running**\n\n${reason}\n\nClick for Ladder commands.`,
  background: 'error',
});

const code = (value: string): string => `\`${value}\``;

/** Missing or mistyped fields are left out; unknown ones are ignored. */
export function statusView(payload: unknown): StatusView {
  const { local = {}, claude = {}, usage = {}, lastTokensPerSecond } = readStatus(payload);
  const { model, baseUrl, models, members = [] } = local;
  const reachable = local.reachable === true;
  const claudeModel = claude.model;
  const claudeReady = claude.configured === true;
  const { todayUsd, savedUsd } = usage;

  const text = [
    reachable ? (model ?? 'no model loaded') : 'offline',
    reachable && lastTokensPerSecond ? `${Math.round(lastTokensPerSecond)} tok/s` : '',
    todayUsd ? usd(todayUsd) : '',
  ];

  const modelCount = models ? `, ${models.length} available` : '';
  const localLine = reachable
    ? `$(server) Local: ${model ? code(model) : 'no model loaded'}${modelCount}`
    : `$(debug-disconnect) Local: offline${baseUrl ? ` — nothing answers at ${code(baseUrl)}` : ''}`;
  // one line per server when the local tier is a pool of several
  const memberLines =
    members.length > 1
      ? members.map((m) => {
          const speed = m.tokensPerSecond ? ` · ${Math.round(m.tokensPerSecond)} tok/s` : '';
          const state = m.up ? `${m.busy ?? 0}/${m.slots ?? 1} busy` : 'down';
          return `- ${m.name ?? m.baseUrl ?? '?'}: ${state}${m.model ? ` · ${code(m.model)}` : ''}${speed}`;
        })
      : [];
  const claudeLine = `$(cloud) Claude: ${claudeModel ? `${code(claudeModel)}, ` : ''}${
    claudeReady ? 'ready' : 'no API key (Ladder: Set Claude API Key)'
  }`;
  const usageLine =
    todayUsd === undefined && savedUsd === undefined
      ? ''
      : `$(graph) Today on Claude: ${usd(todayUsd ?? 0)} · saved by the local model: ${usd(savedUsd ?? 0)}`;

  return {
    text: `$(hubot) ${text.filter(Boolean).join(' · ')}`,
    tooltip: ['**Ladder**', [localLine, ...memberLines].join('\n'), claudeLine, usageLine]
      .filter(Boolean)
      .join('\n\n'),
    background: reachable || claudeReady ? undefined : 'warning',
  };
}

/** One item, clicked to open the list of Ladder commands. */
export class StatusBar {
  private readonly item: StatusBarItem = vscode.createStatusBarItem('ladder.statusBar');

  constructor(command: string) {
    this.item.name = 'Ladder';
    this.item.command = command;
    this.show(STARTING);
    this.item.show();
  }

  show(view: StatusView): void {
    this.item.text = view.text;
    this.item.tooltip = vscode.markdown(view.tooltip);
    this.item.backgroundColor =
      view.background && vscode.themeColor(`statusBarItem.${view.background}Background`);
  }

  dispose(): void {
    this.item.dispose();
  }
}
