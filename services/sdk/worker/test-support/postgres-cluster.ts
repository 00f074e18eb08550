// A throwaway PostgreSQL cluster for tests: Debian's binaries, initdb in a temporary directory, a
// free port on 127.0.0.1 and the unix socket in that directory. No system service is touched.
// initdb and postgres refuse to run as root, so as root they run as the `postgres` user.
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** PID of the postmaster now running; undefined while stopped. */
  pid(): number | undefined;
  /** A URL of a new, empty database in this cluster. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (SIGINT to the postmaster); resolves once it exited. */
  halt(): Promise<void>;
  /** Starts the stopped cluster again on the same port and data. */
  resume(): Promise<void>;
  /** Stops the cluster and removes its directory. */
  stop(): Promise<void>;
}

function binDir(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (!newest) throw new Error("PostgreSQL is not installed (apt-get install postgresql)");
  return join(root, newest, "bin");
}

/** A port nobody listens on right now, on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

const isRoot = () => process.getuid?.() === 0;

async function ids(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run("id", ["-u", user]), run("id", ["-g", user])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), "pg-cluster-"));
  const data = join(dir, "data");
  if (isRoot()) {
    const { uid, gid } = await ids("postgres");
    chownSync(dir, uid, gid);
  }
  /** Runs a PostgreSQL program as a user it accepts. */
  const pgRun = (program: string, args: string[]) =>
    isRoot()
      ? run("runuser", ["-u", "postgres", "--", join(bin, program), ...args], { cwd: dir })
      : run(join(bin, program), args, { cwd: dir });

  await pgRun("initdb", [
    "-D",
    data,
    "-U",
    "postgres",
    "-A",
    "trust",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync",
  ]);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=100",
  ].join(" ");
  let pid: number | undefined;
  const start = async () => {
    await pgRun("pg_ctl", [
      "start",
      "-D",
      data,
      "-w",
      "-t",
      "30",
      "-l",
      join(dir, "log"),
      "-o",
      options,
    ]);
    pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
  };
  const halt = async () => {
    const p = pid;
    if (p === undefined) return;
    pid = undefined;
    try {
      process.kill(p, "SIGINT");
    } catch {
      return;
    }
    for (let i = 0; i < 300 && alive(p); i++) await new Promise((r) => setTimeout(r, 50));
    if (alive(p)) process.kill(p, "SIGKILL");
  };
  try {
    await start();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    url,
    port,
    pid: () => pid,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    halt,
    resume: start,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
