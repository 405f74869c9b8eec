import fs from 'node:fs';
import path from 'node:path';

/**
 * Who owns the embedded PostgreSQL under a DATA_DIR: `<DATA_DIR>/owner.json`, written by the process
 * that started the postmaster (a gateway, or a CLI command run while no gateway was running) and removed
 * when it has stopped it.
 *
 * Why: PostgreSQL's own postmaster.pid says that *a* postmaster runs, not whether the process that
 * started it is still alive. A gateway killed with SIGKILL leaves an orphaned postmaster that the next
 * start must stop; a gateway that is running must keep its database. Only this record tells the two apart.
 *
 * The record is created atomically (written to a temporary file, then hard-linked into place, which fails
 * if the file exists), so a reader never sees half a record and two starters cannot both create it. The
 * owner is "alive" when its pid exists and, on Linux, has the same start time as recorded (so a pid reused
 * by an unrelated process after a reboot or a long time does not count as the owner).
 */
export interface OwnerRecord {
  pid: number;
  /** Linux: field 22 of /proc/<pid>/stat (clock ticks since boot); null elsewhere. */
  processStart: string | null;
  kind: 'gateway' | 'cli' | 'other';
  /** Port of the embedded PostgreSQL it started. */
  pgPort: number;
  /** The gateway's HTTP port, once it listens. */
  httpPort?: number;
  startedAt: string;
}

export interface DataDirLock {
  file: string;
  record: OwnerRecord;
  /** Adds facts learnt later (the HTTP port), replacing the file atomically. */
  update(facts: Partial<Pick<OwnerRecord, 'httpPort'>>): void;
  /** Removes the record if it is still ours. */
  release(): void;
}

export type Acquired = { lock: DataDirLock; liveOwner?: undefined } | { lock?: undefined; liveOwner: OwnerRecord };

const FILE = 'owner.json';

function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by another user
  }
}

/** Is the process that wrote this record still running (and the same process, not a reused pid)? */
export function ownerAlive(record: OwnerRecord): boolean {
  if (!Number.isInteger(record.pid) || record.pid <= 0 || !isAlive(record.pid)) return false;
  if (record.processStart === null) return true;
  const now = processStart(record.pid);
  return now === null || now === record.processStart;
}

function readRecord(file: string): OwnerRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as OwnerRecord;
  } catch {
    return undefined; // missing, or unreadable (treated as no owner)
  }
}

function writeAtomically(file: string, record: OwnerRecord, replace: boolean): void {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
  try {
    if (replace) fs.renameSync(tmp, file);
    else fs.linkSync(tmp, file); // EEXIST if another process holds it
  } finally {
    if (!replace) fs.rmSync(tmp, { force: true });
  }
}

/**
 * Takes ownership of dataDir's embedded PostgreSQL, or reports the live owner. A record left by a dead
 * owner is replaced (its postmaster, if still running, is an orphan the caller stops).
 */
export function acquireDataDirLock(dataDir: string, facts: { kind: OwnerRecord['kind']; pgPort: number }): Acquired {
  const file = path.join(dataDir, FILE);
  const record: OwnerRecord = {
    pid: process.pid,
    processStart: processStart(process.pid),
    kind: facts.kind,
    pgPort: facts.pgPort,
    startedAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeAtomically(file, record, false);
      return { lock: lockHandle(file, record) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const existing = readRecord(file);
    if (existing && existing.pid === process.pid) return { lock: lockHandle(file, existing) }; // this process already owns it
    if (existing && ownerAlive(existing)) return { liveOwner: existing };
    // Stale: move it aside under a name only we use, then check that what we moved is what we judged
    // stale (another starter may have replaced it in between); if not, put it back and look again.
    const aside = `${file}.${process.pid}.stale`;
    try {
      fs.renameSync(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    const moved = readRecord(aside);
    if (moved && ownerAlive(moved)) {
      try {
        fs.linkSync(aside, file);
      } catch {
        /* someone else holds it now; the next attempt reads theirs */
      }
    }
    fs.rmSync(aside, { force: true });
  }
  throw new Error(
    `could not take ownership of ${file} (several processes are starting on DATA_DIR ${dataDir} at once?)`,
  );
}

/** The live owner of dataDir's embedded PostgreSQL, if any (read-only). */
export function liveOwnerOf(dataDir: string): OwnerRecord | undefined {
  const record = readRecord(path.join(dataDir, FILE));
  return record && ownerAlive(record) ? record : undefined;
}

function lockHandle(file: string, record: OwnerRecord): DataDirLock {
  let current = record;
  const ours = () => {
    const onDisk = readRecord(file);
    return onDisk?.pid === current.pid && onDisk.startedAt === current.startedAt;
  };
  return {
    file,
    get record() {
      return current;
    },
    update(facts) {
      if (!ours()) return;
      current = { ...current, ...facts };
      writeAtomically(file, current, true);
    },
    release() {
      if (ours()) fs.rmSync(file, { force: true });
    },
  };
}

export function describeOwner(owner: OwnerRecord): string {
  const who =
    owner.kind === 'gateway' ? 'manifest-gateway' : owner.kind === 'cli' ? 'manifest-gateway CLI command' : 'process';
  const where = [
    owner.httpPort ? `serving on port ${owner.httpPort}` : undefined,
    `embedded PostgreSQL on port ${owner.pgPort}`,
  ]
    .filter(Boolean)
    .join(', ');
  return `a running ${who} (pid ${owner.pid}; ${where}; since ${owner.startedAt})`;
}
