// Part of `npm run bench`: how many calls each balancer sends to a slow instance. Three echo
// backends, one of them 100 ms slow, behind an in-process router; six callers make 50 unary
// calls each, first with round robin, then with power-of-two-choices (p2c).
import { createClient } from "@connectrpc/connect";
import { AgentService } from "../gen/agentplatform/v1/platform_pb";
import type { BalancerKind } from "../platform/forwarding/balancer";
import {
  grpcTransport,
  startTestRegistry,
  startTestRouter,
  waitRoutable,
} from "../router/test-support/cluster";
import { type EchoBackend, startEchoBackend } from "../router/test-support/echo-backend";

export interface BalancerShare {
  balancer: BalancerKind;
  round: number;
  calls: number;
  /** Fraction of the calls the slow instance answered. */
  slowShare: number;
  /** Mean call latency seen by a caller. */
  meanMs: number;
}

const callers = 6;
const callsPerCaller = 50;
const slowDelayMs = 100;

export async function compareBalancers(rounds: number): Promise<BalancerShare[]> {
  const { registry, consul } = await startTestRegistry();
  const backends: EchoBackend[] = [];
  const shares: BalancerShare[] = [];
  try {
    const slow = await startEchoBackend({ consul, executeDelayMs: slowDelayMs });
    backends.push(slow, ...(await Promise.all([0, 1].map(() => startEchoBackend({ consul })))));
    for (let round = 0; round < rounds; round++) {
      for (const balancer of ["round_robin", "p2c"] as BalancerKind[]) {
        const router = await startTestRouter(consul, { balancer, register: false });
        try {
          await waitRoutable(router.address);
          const client = createClient(AgentService, grpcTransport(router.address));
          const before = slow.calls;
          const started = performance.now();
          let calls = 0;
          await Promise.all(
            Array.from({ length: callers }, async () => {
              for (let i = 0; i < callsPerCaller; i++) {
                await client.executeTask({ agentId: "echo-agent", input: "x" });
                calls++;
              }
            }),
          );
          shares.push({
            balancer,
            round,
            calls,
            slowShare: (slow.calls - before) / calls,
            meanMs: ((performance.now() - started) * callers) / calls,
          });
        } finally {
          await router.close(200);
        }
      }
    }
  } finally {
    for (const b of backends) await b.stop("hard");
    await registry.close();
  }
  return shares;
}

export function formatBalancerTable(shares: readonly BalancerShare[]): string {
  const rows = shares.map(
    (s) =>
      `| ${s.round + 1} | ${s.balancer.padEnd(11)} | ${String(s.calls).padStart(5)} | ${(s.slowShare * 100).toFixed(1).padStart(5)} % | ${s.meanMs.toFixed(1).padStart(7)} ms |`,
  );
  return [
    `balancers: 3 echo backends, one ${slowDelayMs} ms slow; ${callers} callers x ${callsPerCaller} unary calls through one router`,
    "| round | balancer    | calls | to slow |   mean latency |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}
