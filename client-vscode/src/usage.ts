// Ladder: Show Usage — the server's `ladder.usage` ledger report as a Markdown preview:
// `{savedUsd, localShare, tiers: {tier: {runs, costUsd}}, days: [{day, costUsd, savedUsd,
// tiers: {tier: {runs, localTokens, claudeTokens, costUsd}}}]}`; missing fields read as 0.
import type { RunServerCommand } from './client';
import { asNumber, asObject, asString, usd, type JsonObject } from './json';
import * as vscode from './vscodeApi';

export async function showUsage(run: RunServerCommand): Promise<void> {
  const document = await vscode.openTextDocument({
    language: 'markdown',
    content: usageMarkdown(await run('ladder.usage')),
  });
  await vscode.executeCommand('markdown.showPreview', document.uri);
}

const count = (value: unknown): string => (asNumber(value) ?? 0).toLocaleString('en-US');
const dollars = (value: unknown): string => usd(asNumber(value) ?? 0);
const byTier = (tiers: unknown): [string, JsonObject][] =>
  Object.entries(asObject(tiers)).map(([tier, t]) => [tier, asObject(t)]);

/** A Markdown table; every column but the first is numeric, so right-aligned. */
const table = (header: string[], rows: string[][]): string[] => [
  `| ${header.join(' | ')} |`,
  `| --- |${' ---: |'.repeat(header.length - 1)}`,
  ...rows.map((row) => `| ${row.join(' | ')} |`),
];

export function usageMarkdown(report: unknown): string {
  const usage = asObject(report);
  const totals = byTier(usage.tiers);
  const days = Array.isArray(usage.days) ? usage.days.map(asObject) : [];
  if (totals.length === 0 && days.length === 0) {
    return '# Ladder usage\n\n_No runs recorded yet._\n';
  }
  const share = asNumber(usage.localShare);
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
      `## ${asString(day.day) ?? 'Unknown day'}: spent ${dollars(day.costUsd)}, saved ${dollars(day.savedUsd)}`,
      '',
      ...table(
        ['Tier', 'Runs', 'Local tokens', 'Claude tokens', 'Cost'],
        byTier(day.tiers).map(([tier, t]) => [
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
