// What the sample dial-in agent lets callers run: a few read-only commands, `ls` inside its own
// data directory, and two long-running ones (`sleep`, `vmstat` ticking) to show streaming and
// cancel. No shell, no environment from the caller.
import type { ExecPolicyOptions } from "../sdk/exec/exec-policy";

export function natExecPolicy(dataDir: string): ExecPolicyOptions {
  return {
    commands: [
      { command: "uname", args: ["-a", "-r", "-m"], maxArgs: 1 },
      { command: "uptime" },
      { command: "df", args: ["-h"], maxArgs: 1 },
      { command: "ls", args: ["-l", "-a", "-la", "-lh", { pathUnder: [dataDir] }], maxArgs: 4 },
      { command: "sleep", args: [/\d{1,3}/], maxArgs: 1 },
      // vmstat 1 10: a line a second, for ten seconds.
      { command: "vmstat", args: [/[1-5]/, /\d{1,3}/], maxArgs: 2 },
    ],
    workingDirs: [dataDir],
    maxRunMs: 5 * 60_000,
    maxOutputBytes: 1024 * 1024,
    maxConcurrent: 4,
  };
}
