/**
 * The notifier port on Feishu: messages are cards (JSON 2.0); charts are uploaded
 * with im.image.create and shown as `img` elements of the card; replies go in the
 * thread under the root (`reply_in_thread`), so an alert or digest is the thread
 * whose replies become deal notes.
 */
import type { ChartImage } from '../../charts/types.js';
import type { Locale } from '../../domain/types.js';
import type { RichMessage } from '../../presenters/rich.js';
import type { WorkspaceRecord } from '../../store/repo.js';
import type { Destination, MessageRef, Notifier } from '../../usecases/notifier.js';
import type { FeishuApi } from './api.js';
import { messageCard, type Card } from './render.js';

export class FeishuNotifier implements Notifier {
  constructor(private readonly api: FeishuApi) {}

  /** Uploads the message's charts, then renders the card with their image keys. */
  async card(locale: Locale, message: RichMessage): Promise<Card> {
    const imageKeys = new Map<ChartImage, string>();
    for (const block of message.blocks) {
      if (block.type !== 'image' || imageKeys.has(block.image)) continue;
      imageKeys.set(block.image, await this.api.uploadImage(block.image.png, block.image.filename));
    }
    return messageCard(message, { locale, imageKeys });
  }

  async post(workspace: WorkspaceRecord, to: Destination, message: RichMessage): Promise<MessageRef> {
    const card = await this.card(workspace.settings.locale, message);
    const sent =
      'channel' in to
        ? await this.api.sendCard('chat_id', to.channel, card)
        : await this.api.sendCard('open_id', to.user, card);
    return { channel: sent.chatId, id: sent.messageId };
  }

  async reply(workspace: WorkspaceRecord, root: MessageRef, message: RichMessage): Promise<MessageRef> {
    const card = await this.card(workspace.settings.locale, message);
    const id = await this.api.replyCard(root.id, card, true);
    return { channel: root.channel, id };
  }

  async update(workspace: WorkspaceRecord, ref: MessageRef, message: RichMessage): Promise<void> {
    await this.api.patchCard(ref.id, await this.card(workspace.settings.locale, message));
  }
}
