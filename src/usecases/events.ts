/** Domain events published by use cases; the scheduler (rules, alert threads) listens. */
import type { Logger } from '../logger.js';
import type { Deal, Note } from '../domain/types.js';

/** Where a change came from: `import` marks rows replayed from a spreadsheet (rules do not fire for them). */
export type EventOrigin = 'import';

export type DomainEvent = (
  | { type: 'deal.created'; workspaceId: string; deal: Deal; actorId: string }
  | { type: 'deal.updated'; workspaceId: string; deal: Deal; actorId: string }
  | { type: 'deal.moved'; workspaceId: string; deal: Deal; from: string; to: string; actorId: string }
  | { type: 'deal.won'; workspaceId: string; deal: Deal; from: string; actorId: string }
  | { type: 'deal.lost'; workspaceId: string; deal: Deal; from: string; actorId: string }
  | { type: 'deal.reopened'; workspaceId: string; deal: Deal; actorId: string }
  | { type: 'deal.snoozed'; workspaceId: string; deal: Deal; actorId: string }
  | { type: 'deal.assigned'; workspaceId: string; deal: Deal; previousOwnerId: string; actorId: string }
  | { type: 'note.added'; workspaceId: string; deal: Deal; note: Note; actorId: string }
  | { type: 'settings.updated'; workspaceId: string; actorId: string }
) & { origin?: EventOrigin };

export type EventHandler = (event: DomainEvent) => Promise<void> | void;

/**
 * In-process event bus. `publish` waits for every handler; a failing handler is
 * logged and never fails the use case that published.
 */
export class EventBus {
  private handlers: EventHandler[] = [];

  constructor(private readonly logger: Logger) {}

  subscribe(handler: EventHandler): () => void {
    this.handlers.push(handler);
    return () => {
      this.handlers = this.handlers.filter((h) => h !== handler);
    };
  }

  async publish(event: DomainEvent): Promise<void> {
    await Promise.all(
      this.handlers.map(async (h) => {
        try {
          await h(event);
        } catch (err) {
          this.logger.error(
            { err, event: event.type, workspaceId: event.workspaceId },
            'event handler failed',
          );
        }
      }),
    );
  }
}
