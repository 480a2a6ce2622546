// Ladder: Run Workspace Job — the instruction from an input box, the plan (a dry run of the
// server's `ladder.job`) confirmed in a modal, then the job itself, which the server delivers as
// one workspace edit with a progress and a report. The code action "Run a workspace job…" ends
// here too: it carries `ladder.job` without an instruction, and the middleware routes it.
import type { RunServerCommand } from './client';
import { JOB_COMMAND, readJobPlan, type JobPlan } from './protocol';
import * as vscode from './vscodeApi';

const SHOWN_UNITS = 20;

export async function runJob(run: RunServerCommand, paths: string[] = []): Promise<unknown> {
  const instruction = await vscode.showInputBox({
    title: 'Ladder: workspace job',
    prompt: 'What should the job do? (units run on the local model, merged into one edit)',
    placeHolder: 'add docstrings to every public function without one',
  });
  if (!instruction?.trim()) return undefined;
  const scope = paths.length > 0 ? { paths } : {};
  const dry = readJobPlan(await run(JOB_COMMAND, [{ instruction, ...scope, dryRun: true }]));
  if (dry === undefined) return undefined; // the server said why (window/showMessage)
  const choice = await vscode.showModalMessage(
    `Ladder: run ${dry.units.length} units over ${dry.files.length} files?`,
    planDetail(dry),
    'Run',
  );
  if (choice !== 'Run') return undefined;
  return run(JOB_COMMAND, [{ plan: dry.raw }]);
}

/** The plan as the confirmation shows it: the goal, then one line per unit (the first 20). */
export function planDetail(plan: JobPlan): string {
  const lines = plan.units
    .slice(0, SHOWN_UNITS)
    .map((unit) => `${unit.action} · ${unit.path} · ${unit.where}`);
  if (plan.units.length > SHOWN_UNITS) lines.push(`… and ${plan.units.length - SHOWN_UNITS} more`);
  return [plan.goal, '', ...lines].join('\n');
}

/** `ladder.job` without an instruction or a plan (the code action) asks the user first. */
export function jobMiddleware(run: RunServerCommand) {
  return (
    command: string,
    args: unknown[],
    next: (command: string, args: unknown[]) => unknown,
  ): unknown => {
    if (command !== JOB_COMMAND) return next(command, args);
    const first = (args[0] ?? {}) as {
      instruction?: unknown;
      plan?: unknown;
      resume?: unknown;
      paths?: unknown;
    };
    if (first.instruction || first.plan || first.resume) return next(command, args);
    const paths = Array.isArray(first.paths)
      ? first.paths.filter((p): p is string => typeof p === 'string')
      : [];
    return runJob(run, paths);
  };
}
