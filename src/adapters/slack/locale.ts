/**
 * The user's Slack language and name (users.info with include_locale), cached
 * briefly so a burst of clicks costs one API call.
 */
import type { webApi } from '@slack/bolt';
import type { Locale } from '../../domain/types.js';

type WebClient = webApi.WebClient;

export interface SlackUserInfo {
  /** en or zh-CN; undefined for other Slack languages (the workspace setting applies). */
  locale: Locale | undefined;
  displayName: string | undefined;
}

/** Maps a Slack locale (`en-US`, `zh-CN`, `zh-TW`, `ja-JP`) to a DealPulse locale. */
export function slackLocale(tag: string | undefined): Locale | undefined {
  if (!tag) return undefined;
  const lower = tag.toLowerCase();
  if (lower.startsWith('zh')) return 'zh-CN';
  if (lower.startsWith('en')) return 'en';
  return undefined;
}

interface UsersInfoUser {
  locale?: string;
  real_name?: string;
  name?: string;
  profile?: { display_name?: string; real_name?: string };
}

export class LocaleCache {
  private readonly entries = new Map<string, { at: number; info: SlackUserInfo }>();

  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly maxEntries = 5000,
    private readonly clock: () => number = Date.now,
  ) {}

  async lookup(client: WebClient, teamId: string, userId: string): Promise<SlackUserInfo> {
    const key = `${teamId}:${userId}`;
    const hit = this.entries.get(key);
    if (hit && this.clock() - hit.at < this.ttlMs) return hit.info;
    let info: SlackUserInfo = { locale: undefined, displayName: undefined };
    try {
      const res = await client.users.info({ user: userId, include_locale: true });
      const u = res.user as UsersInfoUser | undefined;
      info = {
        locale: slackLocale(u?.locale),
        displayName:
          u?.profile?.display_name || u?.real_name || u?.profile?.real_name || u?.name || undefined,
      };
    } catch {
      // Unknown user or a missing scope: fall back to the workspace language, and retry later.
      return info;
    }
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { at: this.clock(), info });
    return info;
  }

  /** What is cached for a user, without calling Slack (for answers that cannot wait). */
  peek(teamId: string, userId: string): SlackUserInfo | undefined {
    const hit = this.entries.get(`${teamId}:${userId}`);
    return hit && this.clock() - hit.at < this.ttlMs ? hit.info : undefined;
  }
}
