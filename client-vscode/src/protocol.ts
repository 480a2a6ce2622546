// What the Ladder server sends this extension, defined once: the `ladder/status` notification and
// the results of the server commands the extension runs (server/ladder_lsp/lsp/server.py, the
// usage report of store/ledger.py). The readers turn what arrives into these shapes; a missing or
// mistyped field reads as undefined, so an older or newer server never breaks the extension.
import { asBoolean, asNumber, asObject, asString } from './json';

export const STATUS_NOTIFICATION = 'ladder/status';

/** `ladder/status` (sent after initialize and whenever it changes), and `ladder.status`. */
export interface LadderStatus {
  local: LocalStatus;
  claude: ClaudeStatus;
  usage: UsageToday;
  /** Speed of the last local answer; 0 before the first one. */
  lastTokensPerSecond: number;
}

export interface LocalStatus {
  baseUrl: string;
  reachable: boolean;
  /** `local.model`, else the model the local server has loaded; "" when there is none. */
  model: string;
  /** Ids of the models the local server lists. */
  models: string[];
  /** The servers of the local pool (`local.baseUrl`, then `local.endpoints`). */
  members: PoolMember[];
}

export interface PoolMember {
  name: string;
  baseUrl: string;
  up: boolean;
  busy: number;
  slots: number;
  model: string;
  tokensPerSecond: number;
}

export interface ClaudeStatus {
  /** A Claude API key is set. */
  configured: boolean;
  model: string;
}

export interface UsageToday {
  /** Spent on Claude today (local day). */
  todayUsd: number;
  /** Saved by running locally, all days. */
  savedUsd: number;
}

/** One entry of `ladder.models`. */
export interface LocalModel {
  id: string;
  /** null when the local server does not say (plain OpenAI-compatible servers). */
  state: 'loaded' | 'not-loaded' | null;
  /** `llm`, `vlm`, `embeddings`, … when the local server says. */
  type: string | null;
  maxContextLength: number | null;
}

/** The result of `ladder.selectModel`: the model now used for this session ("" = the loaded one). */
export interface SelectedModel {
  model: string;
}

/** The result of `ladder.usage`, the usage ledger's report. Tiers are keyed `local`, `claude`,
 * or `none` (runs no tier served); deliveries by outcome (`applied`, `refused`, `stale`, …). */
export interface UsageReport {
  /** Newest day first. */
  days: UsageDay[];
  tiers: Record<string, TierTotals>;
  savedUsd: number;
  /** Share of runs served locally, 0..1; absent when the server keeps no ledger. */
  localShare?: number;
  deliveries: Record<string, number>;
}

export interface UsageDay {
  /** `YYYY-MM-DD`, local time. */
  day: string;
  tiers: Record<string, DayTier>;
  costUsd: number;
  savedUsd: number;
  deliveries: Record<string, number>;
}

export interface TierTotals {
  runs: number;
  costUsd: number;
}

export interface DayTier extends TierTotals {
  localTokens: number;
  claudeTokens: number;
}

export const JOB_COMMAND = 'ladder.job';

/** The argument of `ladder.job`: an instruction (planned by the server) or a plan, and scope. */
export interface JobArgs {
  instruction?: string;
  paths?: string[];
  plan?: unknown;
  dryRun?: boolean;
  /** A job id: run what is left of that job. */
  resume?: string;
}

/** A dry run's plan: `raw` goes back to the server unchanged to run exactly what was shown. */
export interface JobPlan {
  raw: unknown;
  goal: string;
  units: { id: string; path: string; action: string; where: string }[];
  files: string[];
}

/** The server commands the extension runs: their arguments and what they return. */
export interface ServerCommands {
  'ladder.status': { args: []; result: LadderStatus };
  'ladder.models': { args: []; result: LocalModel[] };
  'ladder.selectModel': { args: [modelId: string]; result: SelectedModel };
  'ladder.usage': { args: []; result: UsageReport };
  'ladder.job': { args: [JobArgs]; result: unknown };
}

/** A payload as it arrives: any field may be missing (absent, or mistyped and dropped). */
export type Received<T> = T extends readonly (infer E)[]
  ? Received<E>[]
  : T extends object
    ? string extends keyof T
      ? T extends Record<string, infer V>
        ? Record<string, Received<V>>
        : never
      : { [K in keyof T]?: Received<T[K]> }
    : T;

/** What a command's result is read as. */
export type Result<C extends keyof ServerCommands> = Received<ServerCommands[C]['result']>;

/** The entries read with `read`, those it gives undefined for left out; undefined if no array. */
const list = <V>(value: unknown, read: (entry: unknown) => V | undefined): V[] | undefined =>
  Array.isArray(value) ? value.map(read).filter((entry) => entry !== undefined) : undefined;

/** The values read with `read`, those it gives undefined for left out. */
const record = <V>(value: unknown, read: (entry: unknown) => V | undefined): Record<string, V> =>
  Object.fromEntries(
    Object.entries(asObject(value)).flatMap(([key, entry]) => {
      const got = read(entry);
      return got === undefined ? [] : [[key, got] as const];
    }),
  );

/** For a field the server sends null in when it has no value. */
const orNull = <V>(
  value: unknown,
  read: (value: unknown) => V | undefined,
): V | null | undefined => (value === null ? null : read(value));

const oneOf = <T extends string>(value: unknown, choices: readonly T[]): T | undefined =>
  choices.find((choice) => choice === value);

export function readStatus(payload: unknown): Result<'ladder.status'> {
  const status = asObject(payload);
  const local = asObject(status.local);
  const claude = asObject(status.claude);
  const usage = asObject(status.usage);
  return {
    local: {
      baseUrl: asString(local.baseUrl),
      reachable: asBoolean(local.reachable),
      model: asString(local.model),
      models: list(local.models, asString),
      members: list(local.members, (entry) => {
        const member = asObject(entry);
        return {
          name: asString(member.name),
          baseUrl: asString(member.baseUrl),
          up: asBoolean(member.up),
          busy: asNumber(member.busy),
          slots: asNumber(member.slots),
          model: asString(member.model),
          tokensPerSecond: asNumber(member.tokensPerSecond),
        };
      }),
    },
    claude: { configured: asBoolean(claude.configured), model: asString(claude.model) },
    usage: { todayUsd: asNumber(usage.todayUsd), savedUsd: asNumber(usage.savedUsd) },
    lastTokensPerSecond: asNumber(status.lastTokensPerSecond),
  };
}

/** Plain id strings are read as models too. */
export function readModels(payload: unknown): Result<'ladder.models'> {
  return (
    list(payload, (entry) => {
      if (typeof entry === 'string') return { id: asString(entry) };
      const model = asObject(entry);
      return {
        id: asString(model.id),
        state: orNull(model.state, (state) => oneOf(state, ['loaded', 'not-loaded'] as const)),
        type: orNull(model.type, asString),
        maxContextLength: orNull(model.maxContextLength, asNumber),
      };
    }) ?? []
  );
}

export function readUsage(payload: unknown): Result<'ladder.usage'> {
  const usage = asObject(payload);
  const counts = (value: unknown) => record(value, asNumber);
  return {
    days: list(usage.days, (entry) => {
      const day = asObject(entry);
      return {
        day: asString(day.day),
        tiers: record(day.tiers, (value) => {
          const tier = asObject(value);
          return {
            runs: asNumber(tier.runs),
            localTokens: asNumber(tier.localTokens),
            claudeTokens: asNumber(tier.claudeTokens),
            costUsd: asNumber(tier.costUsd),
          };
        }),
        costUsd: asNumber(day.costUsd),
        savedUsd: asNumber(day.savedUsd),
        deliveries: counts(day.deliveries),
      };
    }),
    tiers: record(usage.tiers, (value) => {
      const tier = asObject(value);
      return { runs: asNumber(tier.runs), costUsd: asNumber(tier.costUsd) };
    }),
    savedUsd: asNumber(usage.savedUsd),
    localShare: asNumber(usage.localShare),
    deliveries: counts(usage.deliveries),
  };
}

/** A `ladder.job` dry run's answer; undefined when it holds no plan (the server refused). */
export function readJobPlan(payload: unknown): JobPlan | undefined {
  const answer = asObject(payload);
  const plan = asObject(answer.plan);
  if (!Array.isArray(plan.units)) return undefined;
  const units =
    list(plan.units, (entry) => {
      const unit = asObject(entry);
      const lines = Array.isArray(unit.lines) ? unit.lines.map(asNumber) : [];
      const where =
        asString(unit.symbol) ??
        (lines.length === 2 ? `lines ${lines[0]}-${lines[1]}` : 'whole file');
      return {
        id: asString(unit.id) ?? '?',
        path: asString(unit.path) ?? '?',
        action: asString(unit.action) ?? '?',
        where,
      };
    }) ?? [];
  return {
    raw: answer.plan,
    goal: asString(plan.goal) ?? '',
    units,
    files: list(answer.files, asString) ?? [],
  };
}
