/** What every use case receives: who acts, in which workspace, at what time. */
import { DomainFailure, fail, ok, type DomainError, type Result } from '../domain/errors.js';
import { defaultSettings } from '../domain/settings.js';
import type { Deal, Locale, Member, Platform, Role } from '../domain/types.js';
import type { Logger } from '../logger.js';
import type { Store, WorkspaceRecord } from '../store/repo.js';
import type { EventBus } from './events.js';

export interface AppDeps {
  store: Store;
  bus: EventBus;
  logger: Logger;
  /** The clock; tests and the scheduler pass their own. */
  now: () => Date;
  defaults: { locale: Locale; timezone: string; reviewSchedule: string };
}

export interface Ctx {
  deps: AppDeps;
  workspace: WorkspaceRecord;
  actor: Member;
  now: Date;
  /** The actor's language: their own setting, else the workspace's. */
  locale: Locale;
}

export interface Identity {
  platform: Platform;
  /** Slack team id, Feishu tenant_key, or `local` for the console. */
  externalWorkspaceId: string;
  workspaceName?: string;
  userId: string;
  displayName?: string;
  /** The user's platform locale when the platform tells it. */
  locale?: Locale;
  email?: string;
}

/**
 * Resolves the context for a request: creates the workspace with default settings
 * (Feishu tenants default to zh-CN) and the member on first sight.
 */
export async function enterWorkspace(deps: AppDeps, who: Identity): Promise<Ctx> {
  const locale: Locale = who.platform === 'feishu' ? 'zh-CN' : (who.locale ?? deps.defaults.locale);
  const workspace = await deps.store.ensureWorkspace({
    platform: who.platform,
    externalId: who.externalWorkspaceId,
    name: who.workspaceName,
    settings: defaultSettings({
      locale,
      timezone: deps.defaults.timezone,
      reviewSchedule: deps.defaults.reviewSchedule,
    }),
  });
  const actor = await deps.store.ensureMember(workspace.id, {
    userId: who.userId,
    displayName: who.displayName,
    locale: who.locale,
    email: who.email,
    defaultRole: workspace.settings.defaultRole,
  });
  return {
    deps,
    workspace,
    actor,
    now: deps.now(),
    locale: who.locale ?? actor.locale ?? workspace.settings.locale,
  };
}

/** A context acting as the system (scheduler) inside a workspace. */
export function systemContext(deps: AppDeps, workspace: WorkspaceRecord): Ctx {
  return {
    deps,
    workspace,
    actor: { workspaceId: workspace.id, userId: 'system', displayName: 'DealPulse', role: 'admin' },
    now: deps.now(),
    locale: workspace.settings.locale,
  };
}

export const isManager = (role: Role): boolean => role === 'manager' || role === 'admin';

export function canChangeDeal(actor: Member, deal: Pick<Deal, 'ownerId'>): boolean {
  return deal.ownerId === actor.userId || isManager(actor.role);
}

/** Runs a use case body; a thrown DomainFailure becomes a failed Result. */
export async function run<T>(body: () => Promise<T>): Promise<Result<T>> {
  try {
    return ok(await body());
  } catch (err) {
    if (err instanceof DomainFailure) return fail(err.error);
    throw err;
  }
}

export function abort(error: DomainError): never {
  throw new DomainFailure(error);
}

/** Unwraps a Result inside a use case body. */
export function must<T>(r: Result<T>): T {
  if (!r.ok) abort(r.error);
  return r.value;
}
