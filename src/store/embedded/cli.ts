/**
 * `npm run db -- --port <port> --dbpath <dir>`: runs the embedded store as a
 * standalone process. Prints the URI once it accepts connections; SIGTERM/SIGINT
 * flush the journal and exit.
 */
import { createLogger } from '../../logger.js';
import { startEmbeddedMongo } from './index.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq?.slice(name.length + 3);
}

const logger = createLogger(process.env.LOG_LEVEL ?? 'warn');
const port = Number(arg('port') ?? 27017);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port ${arg('port')}`);
  process.exit(2);
}
const dbPath = arg('dbpath');
const host = arg('bind_ip') ?? arg('host') ?? '127.0.0.1';

try {
  const server = await startEmbeddedMongo({ port, dbPath, host, logger });
  console.log(`embedded store listening on ${server.uri} (data: ${dbPath ?? 'memory'})`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err, signal }, 'embedded store: error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
} catch (err) {
  console.error(`embedded store failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
