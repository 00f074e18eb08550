// What a worker's job sees while it runs: cancellation, recorded steps and the platform client.
import type { Logger } from "../../../platform/log";
import type { PlatformClient } from "../platform-client";

export interface JobContext {
  taskId: string;
  /** 1 for the first run, higher when the job resumes after an interruption. */
  attempt: number;
  /** Aborted when the task is cancelled or this instance stops. */
  signal: AbortSignal;
  logger: Logger;
  /** Agents, tools and workers reached through the routers. */
  readonly platform: PlatformClient;
  /** Declares the steps ahead, so status shows them and progress counts them from the start. */
  plan(stepNames: readonly string[]): Promise<void>;
  /**
   * Runs a step and records its JSON-serialisable result. A step that finished before an
   * interruption is not run again: its recorded result is returned.
   */
  step<T>(name: string, run: () => Promise<T>): Promise<T>;
  /** Shows a message in the task's status without finishing a step. */
  report(message: string): Promise<void>;
}
