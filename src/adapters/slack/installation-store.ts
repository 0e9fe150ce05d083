/**
 * OAuth installations (one per Slack workspace or Enterprise Grid org) in
 * MongoDB, through a Mongoose model on the core's connection.
 */
import type { Installation, InstallationQuery, InstallationStore } from '@slack/bolt';
import { Schema, type Connection, type Model } from 'mongoose';

interface InstallationDoc {
  _id: string;
  teamId: string | null;
  enterpriseId: string | null;
  isEnterpriseInstall: boolean;
  installation: Installation;
  updatedAt: Date;
}

const schema = new Schema<InstallationDoc>(
  {
    _id: { type: String, required: true },
    teamId: { type: String, default: null },
    enterpriseId: { type: String, default: null },
    isEnterpriseInstall: { type: Boolean, default: false },
    installation: { type: Schema.Types.Mixed, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'slack_installations', versionKey: false, minimize: false },
);

/** Org-wide installs are keyed by the enterprise, the others by the team. */
function keyOf(q: {
  isEnterpriseInstall?: boolean | undefined;
  enterpriseId?: string | undefined;
  teamId?: string | undefined;
}): string {
  if (q.isEnterpriseInstall && q.enterpriseId) return `E:${q.enterpriseId}`;
  if (q.teamId) return `T:${q.teamId}`;
  throw new Error('installation query without team or enterprise id');
}

export class MongoInstallationStore implements InstallationStore {
  readonly model: Model<InstallationDoc>;

  constructor(conn: Connection) {
    this.model =
      (conn.models.SlackInstallation as Model<InstallationDoc> | undefined) ??
      conn.model<InstallationDoc>('SlackInstallation', schema);
  }

  async storeInstallation<AuthVersion extends 'v1' | 'v2'>(
    installation: Installation<AuthVersion, boolean>,
  ): Promise<void> {
    const key = keyOf({
      isEnterpriseInstall: installation.isEnterpriseInstall,
      enterpriseId: installation.enterprise?.id,
      teamId: installation.team?.id,
    });
    await this.model.updateOne(
      { _id: key },
      {
        $set: {
          teamId: installation.team?.id ?? null,
          enterpriseId: installation.enterprise?.id ?? null,
          isEnterpriseInstall: Boolean(installation.isEnterpriseInstall),
          installation: installation as Installation,
          updatedAt: new Date(),
        },
      },
      { upsert: true },
    );
  }

  async fetchInstallation(query: InstallationQuery<boolean>): Promise<Installation<'v1' | 'v2', boolean>> {
    const doc = await this.model.findOne({ _id: keyOf(query) }).lean();
    if (!doc) throw new Error(`no Slack installation for ${keyOf(query)}`);
    return doc.installation;
  }

  async deleteInstallation(query: InstallationQuery<boolean>): Promise<void> {
    await this.model.deleteOne({ _id: keyOf(query) });
  }
}
