/**
 * The Notifier port on Slack: chat.postMessage / chat.update, thread replies,
 * and charts uploaded with files.uploadV2 into the message's thread.
 */
import type { webApi } from '@slack/bolt';
import type { ChartImage } from '../../charts/types.js';
import type { Locale } from '../../domain/types.js';
import type { Logger } from '../../logger.js';
import type { RichMessage } from '../../presenters/rich.js';
import type { WorkspaceRecord } from '../../store/repo.js';
import type { Destination, MessageRef, Notifier } from '../../usecases/notifier.js';
import { renderMessage } from './render.js';

type WebClient = webApi.WebClient;

/** Finds the Web API client (bot token) of a workspace: the single token, or its OAuth installation. */
export type ClientResolver = (workspace: WorkspaceRecord) => Promise<WebClient>;

export class SlackNotifier implements Notifier {
  constructor(
    private readonly clientFor: ClientResolver,
    private readonly logger: Logger,
  ) {}

  async post(workspace: WorkspaceRecord, to: Destination, message: RichMessage): Promise<MessageRef> {
    const client = await this.clientFor(workspace);
    const channel = 'channel' in to ? to.channel : to.user;
    return this.postWith(client, channel, message, workspace.settings.locale);
  }

  async reply(workspace: WorkspaceRecord, root: MessageRef, message: RichMessage): Promise<MessageRef> {
    const client = await this.clientFor(workspace);
    return this.postWith(client, root.channel, message, workspace.settings.locale, root.id);
  }

  async update(workspace: WorkspaceRecord, ref: MessageRef, message: RichMessage): Promise<void> {
    const client = await this.clientFor(workspace);
    await this.updateWith(client, ref.channel, ref.id, message, workspace.settings.locale);
  }

  async permalink(workspace: WorkspaceRecord, ref: MessageRef): Promise<string | undefined> {
    const client = await this.clientFor(workspace);
    const res = await client.chat.getPermalink({ channel: ref.channel, message_ts: ref.id });
    return res.permalink;
  }

  /** Replaces a posted message; new charts follow in its thread. */
  async updateWith(
    client: WebClient,
    channel: string,
    ts: string,
    message: RichMessage,
    locale: Locale,
  ): Promise<void> {
    const { text, blocks, images } = renderMessage(message, locale, { uploadImages: true });
    await client.chat.update({ channel, ts, text, blocks });
    await this.upload(client, channel, ts, images);
  }

  /** Posts (or replies when `threadTs` is set) with a given client; charts follow in the thread. */
  async postWith(
    client: WebClient,
    channel: string,
    message: RichMessage,
    locale: Locale,
    threadTs?: string,
  ): Promise<MessageRef> {
    const { text, blocks, images } = renderMessage(message, locale, { uploadImages: true });
    const res = await client.chat.postMessage({
      channel,
      text,
      blocks,
      unfurl_links: false,
      unfurl_media: false,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    const ref = { channel: String(res.channel ?? channel), id: String(res.ts) };
    await this.upload(client, ref.channel, threadTs ?? ref.id, images);
    return ref;
  }

  private async upload(
    client: WebClient,
    channel: string,
    threadTs: string,
    images: ChartImage[],
  ): Promise<void> {
    for (const image of images) {
      try {
        await client.files.uploadV2({
          channel_id: channel,
          thread_ts: threadTs,
          file: image.png,
          filename: image.filename,
          title: image.title,
          alt_text: image.altText.slice(0, 1000),
        });
      } catch (err) {
        // The message itself is posted and carries the chart's text summary.
        this.logger.warn({ err, channel, file: image.filename }, 'chart upload to Slack failed');
      }
    }
  }
}
