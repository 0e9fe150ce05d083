import type { BlockAction, RespondFn, webApi } from '@slack/bolt';
import type { Surface } from '../runtime.js';

/** Where a button was pressed: a channel message (with response_url), App Home or a modal. */
export function surfaceOf(body: BlockAction, client: webApi.WebClient, respond: RespondFn): Surface {
  const inMessage = body.container?.type === 'message' && Boolean(body.response_url);
  return {
    client,
    userId: body.user.id,
    channel: body.channel?.id,
    respond: inMessage ? respond : undefined,
    triggerId: body.trigger_id,
    inModal: body.container?.type === 'view' && body.view?.type === 'modal',
  };
}
