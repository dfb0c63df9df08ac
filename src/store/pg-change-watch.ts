// The PostgreSQL counterpart of SQLite's `PRAGMA data_version` (read-cache.ts):
// a dedicated connection per process LISTENs on the channel every write
// transaction notifies at commit (postgres.ts), and counts notifications.
//
// A notification reaches a listener asynchronously, so a read on this replica
// right after another replica's write returned could beat it. `barrier()`
// closes that gap: a query on the listening connection itself, sent after the
// request arrived. The writer's COMMIT returned only after PostgreSQL queued
// the notification and signalled the listening backends, and a backend sends
// pending notifications before it runs the next query it reads, so when
// the barrier's answer is in, every write that returned before it was sent has
// been counted. One barrier serves the reads of one event-loop turn: it is
// sent in the turn's check phase, after every request read in that turn.
//
// While the connection is down (not yet up, lost, reconnecting) the version
// changes on every read: nothing is cached until listening again.
import pg from 'pg';
import { CHANGES_CHANNEL } from './postgres.ts';

export interface PostgresChangeWatch {
  version(): number;
  barrier(): Promise<void>;
  close(): void;
}

const RECONNECT_MS = 1000;

export function postgresChangeWatch(url: string): PostgresChangeWatch {
  let version = 0;
  let client: pg.Client | null = null;
  let live = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  /** The barrier to be sent at the end of this event-loop turn. */
  let pending: Promise<void> | null = null;
  /** The last barrier query sent. */
  let queue: Promise<void> = Promise.resolve();

  const lost = (c: pg.Client): void => {
    if (client !== c) return;
    live = false;
    client = null;
    version++;
    c.end().catch(() => undefined);
    if (!closed) timer = setTimeout(connect, RECONNECT_MS).unref();
  };

  function connect(): void {
    const c = new pg.Client({ connectionString: url });
    client = c;
    c.on('notification', () => {
      version++;
    });
    c.on('error', () => lost(c));
    c.on('end', () => lost(c));
    c.connect()
      .then(() => c.query(`LISTEN ${CHANGES_CHANNEL}`))
      .then(() => {
        if (client !== c) return;
        // Whatever was committed while not listening: entries cached before now are stale.
        version++;
        live = true;
      })
      .catch(() => lost(c));
  }
  connect();

  return {
    version: () => (live ? version : ++version),
    barrier() {
      if (!live) return Promise.resolve();
      pending ??= new Promise<void>((resolve) => {
        setImmediate(() => {
          pending = null;
          const c = client;
          if (!live || !c) return resolve();
          // After the previous barrier (one query at a time on a pg client; the answers come in order anyway).
          queue = queue.then(() =>
            c.query('SELECT 1').then(
              () => resolve(),
              () => {
                lost(c);
                resolve();
              },
            ),
          );
        });
      });
      return pending;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      const c = client;
      client = null;
      live = false;
      c?.end().catch(() => undefined);
    },
  };
}
