/** Mongoose and Agenda smoke tests against the run's database (embedded or MONGODB_URI). */
import { MongoBackend } from '@agendajs/mongo-backend';
import { Agenda } from 'agenda';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestMongoose } from '../../helpers/db.js';

let t: Awaited<ReturnType<typeof connectTestMongoose>>;
beforeAll(async () => {
  t = await connectTestMongoose('libs');
});
afterAll(async () => {
  await t.close();
});

describe('Mongoose', () => {
  it('models with unique compound indexes, timestamps, conditional updates and aggregation', async () => {
    const schema = new mongoose.Schema(
      {
        workspaceId: { type: String, required: true },
        code: { type: String, required: true },
        amount: Number,
        stage: String,
        tags: [String],
        version: { type: Number, default: 1 },
      },
      { timestamps: true },
    );
    schema.index({ workspaceId: 1, code: 1 }, { unique: true });
    const Deal = t.conn.model('Deal', schema);
    await Deal.init();
    const created = await Deal.create({
      workspaceId: 'w',
      code: 'D-1',
      amount: 100,
      stage: 'lead',
      tags: ['a'],
    });
    expect(created.createdAt).toBeInstanceOf(Date);
    await expect(Deal.create({ workspaceId: 'w', code: 'D-1', amount: 1 })).rejects.toMatchObject({
      code: 11000,
    });
    await Deal.insertMany([
      { workspaceId: 'w', code: 'D-2', amount: 300, stage: 'won' },
      { workspaceId: 'x', code: 'D-1', amount: 50, stage: 'won' },
    ]);
    const updated = await Deal.findOneAndUpdate(
      { _id: created._id, version: 1 },
      { $set: { stage: 'won' }, $inc: { version: 1 }, $push: { tags: 'b' } },
      { returnDocument: 'after' },
    ).lean();
    expect(updated).toMatchObject({ stage: 'won', version: 2, tags: ['a', 'b'] });
    const stale = await Deal.updateOne({ _id: created._id, version: 1 }, { $set: { stage: 'lost' } });
    expect(stale.matchedCount).toBe(0);
    const totals = await Deal.aggregate<{ _id: string; total: number }>([
      { $match: { stage: 'won' } },
      { $group: { _id: '$workspaceId', total: { $sum: '$amount' } } },
      { $sort: { _id: 1 } },
    ]);
    expect(totals).toEqual([
      { _id: 'w', total: 400 },
      { _id: 'x', total: 50 },
    ]);
    expect(await Deal.countDocuments({ workspaceId: 'w' })).toBe(2);
    expect((await Deal.distinct('workspaceId')).sort()).toEqual(['w', 'x']);
    const page = await Deal.find({}).sort({ amount: -1 }).skip(1).limit(1).lean();
    expect(page.map((d) => d.code)).toEqual(['D-1']);
    expect((await Deal.deleteMany({ workspaceId: 'x' })).deletedCount).toBe(1);
    const indexes = await Deal.listIndexes();
    expect(indexes.some((i) => i.unique && i.key.workspaceId === 1 && i.key.code === 1)).toBe(true);
  });

  it('counter documents with upsert and $inc', async () => {
    const Counter = t.conn.model('Counter', new mongoose.Schema({ _id: String, seq: Number }));
    const next = async () =>
      (await Counter.findOneAndUpdate(
        { _id: 'deal' },
        { $inc: { seq: 1 } },
        { upsert: true, returnDocument: 'after' },
      ).lean())!.seq;
    const seqs = await Promise.all([next(), next(), next(), next()]);
    expect(seqs.sort()).toEqual([1, 2, 3, 4]);
  });
});

describe('Agenda', () => {
  it('runs immediate and scheduled jobs and persists them', async () => {
    const agenda = new Agenda({
      backend: new MongoBackend({ mongo: t.conn.db as never, collection: 'jobs' }),
      processEvery: 100,
    });
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      agenda.define('ping', async (job: { attrs: { data: { tag: string } } }) => {
        seen.push(job.attrs.data.tag);
        if (seen.length === 2) resolve();
      });
    });
    await agenda.start();
    try {
      await agenda.now('ping', { tag: 'now' });
      await agenda.schedule(new Date(Date.now() + 200), 'ping', { tag: 'later' });
      await done;
      expect(seen.sort()).toEqual(['later', 'now']);
      // Agenda saves lastFinishedAt after the handler returns: wait for both records.
      const jobs = t.conn.db!.collection('jobs');
      await expect
        .poll(() => jobs.countDocuments({ name: 'ping', lastFinishedAt: { $type: 'date' } }), {
          timeout: 10_000,
          interval: 50,
        })
        .toBe(2);
      expect(await jobs.countDocuments({ name: 'ping', lockedAt: { $ne: null } })).toBe(0);
    } finally {
      await agenda.stop();
    }
  });
});
