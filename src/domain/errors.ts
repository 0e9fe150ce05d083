/**
 * Typed errors returned by use cases. Adapters render them in the user's
 * language; nothing here is user-facing text.
 */

/** Names of user-editable fields; each has a localized label and an "accepted" hint in the catalogues. */
export type FieldKey =
  | 'name'
  | 'company'
  | 'amount'
  | 'currency'
  | 'stage'
  | 'owner'
  | 'source'
  | 'closeDate'
  | 'dueDate'
  | 'nextStep'
  | 'lostReason'
  | 'reason'
  | 'code'
  | 'note'
  | 'duration'
  | 'locale'
  | 'timezone'
  | 'schedule'
  | 'channel'
  | 'role'
  | 'probability'
  | 'threshold'
  | 'label'
  | 'stageKey'
  | 'customField'
  | 'bant'
  | 'checklist'
  | 'period'
  | 'filter'
  | 'rule'
  | 'file'
  | 'command';

export type NotFoundError = {
  kind: 'NotFound';
  entity: 'deal' | 'user' | 'stage' | 'rule' | 'workspace';
  ref: string;
  /** Close matches the user may have meant (deal codes, stage labels, …). */
  suggestions?: string[];
};
export type ForbiddenError = { kind: 'Forbidden'; action: string };
export type ConflictError = {
  kind: 'Conflict';
  reason:
    | 'concurrent_update'
    | 'already_closed'
    | 'not_closed'
    | 'same_stage'
    | 'duplicate'
    | 'stage_in_use'
    | 'last_admin';
  ref?: string;
};
export type InvalidError = {
  kind: 'Invalid';
  field: FieldKey | string;
  /** What the user typed (truncated by the renderer). */
  value?: string;
  /** Message key under `invalid.` for a specific problem; the default says the value is not accepted. */
  reason?: string;
  /** Extra interpolation values for the reason message, e.g. `{ max: 200 }`. */
  params?: Record<string, string | number>;
  /** Further invalid fields of the same request (forms show them all at once). */
  more?: Omit<InvalidError, 'kind' | 'more'>[];
};
export type DomainError = NotFoundError | ForbiddenError | ConflictError | InvalidError;

export type Result<T> = { ok: true; value: T } | { ok: false; error: DomainError };

export const ok = <T>(value: T): Result<T> => ({ ok: true, value });
export const fail = <T = never>(error: DomainError): Result<T> => ({ ok: false, error });
export const invalid = <T = never>(
  field: InvalidError['field'],
  value?: string,
  reason?: string,
  params?: Record<string, string | number>,
): Result<T> => fail({ kind: 'Invalid', field, value, reason, params });

/** Thrown inside a use case to abort with a typed error; `runUseCase` turns it back into a Result. */
export class DomainFailure extends Error {
  constructor(readonly error: DomainError) {
    super(`${error.kind}: ${JSON.stringify(error)}`);
  }
}
