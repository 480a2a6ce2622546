// Ladder: Show Usage — the server's `ladder.usage` ledger report (protocol.ts) as a Markdown
// preview; missing fields read as 0.
import type { RunServerCommand } from './client';
import { usd } from './json';
import { readUsage } from './protocol';
import * as vscode from './vscodeApi';

export async function showUsage(run: RunServerCommand): Promise<void> {
  const document = await vscode.openTextDocument({
    language: 'markdown',
    content: usageMarkdown(await run('ladder.usage')),
  });
  await vscode.executeCommand('markdown.showPreview', document.uri);
}

const count = (value: number | undefined): string => (value ?? 0).toLocaleString('en-US');
const dollars = (value: number | undefined): string => usd(value ?? 0);

/** A Markdown table; every column but the first is numeric, so right-aligned. */
const table = (header: string[], rows: string[][]): string[] => [
  `| ${header.join(' | ')} |`,
  `| --- |${' ---: |'.repeat(header.length - 1)}`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
];

export function usageMarkdown(report: unknown): string {
  const usage = readUsage(report);
  const totals = Object.entries(usage.tiers ?? {});
  const days = usage.days ?? [];
  if (totals.length === 0 && days.length === 0) {
    return '# Ladder usage\n\n_No runs recorded yet._\n';
  }
  const share = usage.localShare;
  return [
    '# Ladder usage',
    '',
    `Saved by running locally: **${dollars(usage.savedUsd)}**` +
      (share === undefined ? '' : ` · local share of runs: **${Math.round(share * 100)}%**`),
    '',
    '## All days',
    '',
    ...table(
      ['Tier', 'Runs', 'Cost'],
      totals.map(([tier, t]) => [tier, count(t.runs), dollars(t.costUsd)]),
    ),
    ...days.flatMap((day) => [
      '',
      `## ${day.day ?? 'Unknown day'}: spent ${dollars(day.costUsd)}, saved ${dollars(day.savedUsd)}`,
      '',
      ...table(
        ['Tier', 'Runs', 'Local tokens', 'Claude tokens', 'Cost'],
        Object.entries(day.tiers ?? {}).map(([tier, t]) => [
          tier,
          count(t.runs),
          count(t.localTokens),
          count(t.claudeTokens),
          dollars(t.costUsd),
        ]),
      ),
    ]),
    '',
  ].join('\n');
}
