/**
 * Uploaded spreadsheets waiting for the user to confirm an import (collection `import_uploads`).
 * A TTL index removes them an hour after upload; every query carries the workspace.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export const UPLOAD_TTL_SECONDS = 3600;

const uploadSchema = new Schema(
  {
    workspaceId: { type: String, required: true },
    userId: { type: String, required: true },
    filename: { type: String, required: true },
    data: { type: Buffer, required: true },
    size: { type: Number, required: true },
    createdAt: { type: Date, required: true },
  },
  { versionKey: false },
);
uploadSchema.index({ createdAt: 1 }, { expireAfterSeconds: UPLOAD_TTL_SECONDS });
uploadSchema.index({ workspaceId: 1, userId: 1 });

export interface ImportUploadDoc {
  workspaceId: string;
  userId: string;
  filename: string;
  data: Buffer;
  size: number;
  createdAt: Date;
}

const ready = new WeakMap<Connection, Promise<void>>();

/** The model on this connection; its indexes (TTL included) are created once per connection. */
export async function importUploads(conn: Connection): Promise<Model<ImportUploadDoc>> {
  const model =
    (conn.models.ImportUpload as Model<ImportUploadDoc> | undefined) ??
    conn.model<ImportUploadDoc>('ImportUpload', uploadSchema, 'import_uploads');
  let p = ready.get(conn);
  if (!p) {
    p = model.createIndexes().then(() => undefined);
    ready.set(conn, p);
    p.catch(() => ready.delete(conn));
  }
  await p;
  return model;
}
