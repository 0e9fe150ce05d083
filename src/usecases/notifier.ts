/**
 * The notifier port: how jobs and use cases reach a team without knowing the
 * platform. Slack, Feishu and the console each implement it.
 */
import type { RichMessage } from '../presenters/rich.js';
import type { WorkspaceRecord } from '../store/repo.js';

/** Where a message goes: a channel/chat, or a direct message to a user. */
export type Destination = { channel: string } | { user: string };

/** A posted message; `channel` + `id` identify it (Slack channel + ts, Feishu chat_id + message_id). */
export interface MessageRef {
  channel: string;
  id: string;
}

export interface Notifier {
  /** Posts a message; the returned ref is the root of its thread. */
  post(workspace: WorkspaceRecord, to: Destination, message: RichMessage): Promise<MessageRef>;
  /** Replies in the thread under `root`. */
  reply(workspace: WorkspaceRecord, root: MessageRef, message: RichMessage): Promise<MessageRef>;
  /** Replaces the content of a posted message. */
  update(workspace: WorkspaceRecord, ref: MessageRef, message: RichMessage): Promise<void>;
  /** A link that opens a posted message (and its thread), where the platform has one. */
  permalink?(workspace: WorkspaceRecord, ref: MessageRef): Promise<string | undefined>;
}

/** Picks the notifier of a workspace's platform. */
export class NotifierRegistry {
  private readonly byPlatform = new Map<string, Notifier>();

  register(platform: string, notifier: Notifier): void {
    this.byPlatform.set(platform, notifier);
  }

  for(workspace: WorkspaceRecord): Notifier | undefined {
    return this.byPlatform.get(workspace.platform);
  }
}
