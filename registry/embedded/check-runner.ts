// Runs every registered check on its schedule (gRPC, TCP, HTTP on their Interval; TTL checks
// expire unless updated) and records results in the registry state.
import { isDeepStrictEqual } from "node:util";
import type { Logger } from "../../platform/log";
import { createProbe, type Probe } from "./check-probes";
import type { CheckTls } from "./check-tls";
import type { CheckSpec } from "./registry-model";
import { type RegistryState, serfHealthCheckId } from "./registry-state";

export interface CheckRunnerOptions {
  /** Timeout of one run when the check sets none. */
  defaultTimeoutMs: number;
  /** Shortest interval honoured; shorter ones are raised to it, as Consul does. */
  minIntervalMs: number;
  /** CA and client certificate for TLS checks. Default: none. */
  tls?: CheckTls;
  logger: Logger;
}

export interface CheckRunner {
  /** Starts checks that are new or changed and stops those no longer registered. */
  sync(): void;
  /** A TTL check was updated: restart its expiry timer. */
  touched(checkId: string): void;
  close(): void;
}

interface Running {
  spec: CheckSpec;
  stop(): void;
  touch(): void;
}

export function createCheckRunner(state: RegistryState, options: CheckRunnerOptions): CheckRunner {
  const running = new Map<string, Running>();
  const log = options.logger;

  function startTtl(spec: CheckSpec): Running {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        const check = state.check(spec.id);
        if (!check) return;
        log.debug("ttl check expired", { check: spec.id });
        state.updateCheck(
          spec.id,
          "critical",
          `TTL expired (last output before timeout follows): ${check.output}`,
        );
      }, spec.ttlMs);
      timer.unref();
    };
    arm();
    return { spec, stop: () => clearTimeout(timer), touch: arm };
  }

  function startActive(spec: CheckSpec, probe: Probe): Running {
    const controller = new AbortController();
    const intervalMs = Math.max(spec.intervalMs, options.minIntervalMs);
    if (spec.intervalMs < options.minIntervalMs) {
      log.warn("check interval below minimum; using the minimum", {
        check: spec.id,
        interval: spec.intervalMs,
        minimum: options.minIntervalMs,
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const runOnce = async () => {
      const started = Date.now();
      const result = await probe.run(spec.timeoutMs ?? options.defaultTimeoutMs, controller.signal);
      if (controller.signal.aborted) return;
      const previous = state.check(spec.id)?.status;
      state.updateCheck(spec.id, result.status, result.output);
      if (previous !== result.status) {
        log.info("check status changed", {
          check: spec.id,
          status: result.status,
          output: result.output,
        });
      }
      // Runs never overlap: a slow probe delays the next one instead of piling up.
      timer = setTimeout(runOnce, Math.max(0, intervalMs - (Date.now() - started)));
    };
    // Run at once so a new instance turns healthy without waiting a whole interval.
    timer = setTimeout(runOnce, 0);
    return {
      spec,
      stop() {
        controller.abort();
        clearTimeout(timer);
        probe.close();
      },
      touch() {},
    };
  }

  function start(spec: CheckSpec): Running {
    const probe = createProbe(spec, options.tls);
    return probe ? startActive(spec, probe) : startTtl(spec);
  }

  return {
    sync() {
      const wanted = new Map<string, CheckSpec>();
      for (const check of state.checks()) {
        if (check.spec.id === serfHealthCheckId || check.spec.kind === "maintenance") continue;
        wanted.set(check.spec.id, check.spec);
      }
      for (const [id, run] of running) {
        const spec = wanted.get(id);
        if (!spec || !isDeepStrictEqual(spec, run.spec)) {
          run.stop();
          running.delete(id);
        }
      }
      for (const [id, spec] of wanted) if (!running.has(id)) running.set(id, start(spec));
    },
    touched(checkId) {
      running.get(checkId)?.touch();
    },
    close() {
      for (const run of running.values()) run.stop();
      running.clear();
    },
  };
}
