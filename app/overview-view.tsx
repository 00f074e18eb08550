"use client";
// Overview: health per kind, live golden signals, and what failed lately.
import Link from "next/link";
import { formatAgo, formatRate } from "../components/format";
import { GoldenCharts } from "../components/golden-charts";
import { healthLabel, healthTone, healthWindowMs } from "../components/health";
import { useMetrics } from "../components/metrics-feed";
import {
  type KindSummary,
  kindPlural,
  recentCheckFailures,
  summariseKind,
} from "../components/service-summary";
import { useServices } from "../components/services-feed";
import { useSession } from "../components/session-context";
import { EmptyState, ErrorState, LoadingState } from "../components/state-views";
import { StatusBadge } from "../components/status-badge";
import { useNow } from "../components/use-now";

const overviewKinds = ["agent", "tool", "worker", "router"] as const;

export function OverviewView() {
  const { session } = useSession();
  const services = useServices();
  const metrics = useMetrics();
  const now = useNow(5000);
  const cluster = metrics.series.get("cluster") ?? [];
  const data = services.data;

  return (
    <div className="page" data-testid="overview-page">
      <div className="page-header">
        <div>
          <h1>Overview</h1>
          <p>
            Registry {session?.registry || "unknown"} · gateway {session?.gatewayVersion || "–"}
          </p>
        </div>
      </div>

      <section aria-label="Health by kind" className="grid-4">
        {services.isPending ? (
          overviewKinds.map((kind) => <HealthCardSkeleton key={kind} />)
        ) : data === undefined ? (
          <div style={{ gridColumn: "1 / -1" }}>
            <ErrorState error={services.error} onRetry={services.refetch} />
          </div>
        ) : (
          overviewKinds.map((kind) => (
            <HealthCard key={kind} summary={summariseKind(data.services, kind)} />
          ))
        )}
      </section>

      <section className="section" aria-labelledby="golden-heading">
        <div className="section-header">
          <h2 id="golden-heading">Cluster traffic</h2>
          <span className="muted">
            {metrics.state.kind === "live"
              ? "Sum over all routers, one point a second"
              : metrics.state.kind === "retrying"
                ? `Metrics stream interrupted: ${metrics.state.error.rawMessage}`
                : "Connecting to the metrics stream…"}
          </span>
        </div>
        <GoldenCharts points={cluster} testIdPrefix="cluster" />
      </section>

      <div className="grid-2">
        <section className="card flush" aria-labelledby="failures-heading">
          <div className="card-header">
            <h2 id="failures-heading" className="card-title">
              Recent health failures
            </h2>
            <span className="muted">last {healthWindowMs / 60_000} min</span>
          </div>
          {data === undefined ? (
            <div className="card-body">
              <LoadingState rows={2} />
            </div>
          ) : (
            <FailureList
              events={recentCheckFailures(data.services, now - healthWindowMs)}
              now={now}
            />
          )}
        </section>
        <section className="card flush" aria-labelledby="method-errors-heading">
          <div className="card-header">
            <h2 id="method-errors-heading" className="card-title">
              Methods with errors
            </h2>
            <span className="muted">since routers started</span>
          </div>
          <MethodErrors methods={metrics.methods} />
        </section>
      </div>
    </div>
  );
}

function HealthCard({ summary }: { summary: KindSummary }) {
  const { kind, instances, instancesPassing, instancesCritical, services, tone } = summary;
  const warn = instances - instancesPassing - instancesCritical;
  const href = kind === "router" ? "/routers" : `/services?kind=${kind}`;
  return (
    <Link
      href={href}
      className={`card health-card tone-${tone}`}
      data-testid={`health-${kind}`}
      data-tone={tone}
      data-passing={instancesPassing}
      data-total={instances}
    >
      <span className="label">{kindPlural(kind)}</span>
      <span className="value">
        {instancesPassing}
        <span className="of"> / {instances}</span>
      </span>
      <div
        className="meter"
        role="img"
        aria-label={`${instancesPassing} of ${instances} instances passing`}
      >
        {instances > 0 && (
          <>
            <span className="ok" style={{ width: `${(instancesPassing / instances) * 100}%` }} />
            <span className="warn" style={{ width: `${(warn / instances) * 100}%` }} />
            <span className="bad" style={{ width: `${(instancesCritical / instances) * 100}%` }} />
          </>
        )}
      </div>
      <span className="muted">
        {instances === 0
          ? `No ${kindPlural(kind)} registered`
          : `instances passing · ${services} ${services === 1 ? "service" : "services"}`}
      </span>
    </Link>
  );
}

function HealthCardSkeleton() {
  return (
    <div className="card health-card" aria-hidden="true">
      <div className="skeleton" style={{ width: "40%" }} />
      <div className="skeleton" style={{ width: "30%", height: 28 }} />
      <div className="skeleton" style={{ width: "80%" }} />
    </div>
  );
}

function FailureList({
  events,
  now,
}: {
  events: ReturnType<typeof recentCheckFailures>;
  now: number;
}) {
  if (events.length === 0) {
    return (
      <div className="card-body">
        <EmptyState title="No failing checks" testId="failures-empty">
          Every health check has passed for the last 30 minutes.
        </EmptyState>
      </div>
    );
  }
  return (
    <ul className="history-list" data-testid="recent-failures">
      {events.map((e) => (
        <li key={`${e.instanceId}-${e.check}-${e.atMs}`}>
          <Link
            href={`/services/${encodeURIComponent(e.service)}?instance=${encodeURIComponent(e.instanceId)}`}
            className="history-item"
          >
            <StatusBadge status={e.status} />
            <span className="truncate" style={{ flex: 1 }}>
              <strong>{e.service}</strong> <span className="muted">{e.instanceId}</span>
              <br />
              <span className="faint" title={e.output}>
                {e.check}: {e.output || healthLabel(e.status)}
              </span>
            </span>
            <span className={`nowrap muted tone-${healthTone(e.status)}`}>
              {formatAgo(e.atMs, now)}
            </span>
          </Link>
        </li>
      ))}
    </ul>
  );
}

function MethodErrors({ methods }: { methods: ReturnType<typeof useMetrics>["methods"] }) {
  const failing = methods
    .filter((m) => m.totalErrors > 0n)
    .sort((a, b) => Number(b.totalErrors - a.totalErrors))
    .slice(0, 8);
  if (failing.length === 0) {
    return (
      <div className="card-body">
        <EmptyState title="No failed calls" testId="method-errors-empty">
          No method has returned an error through the routers.
        </EmptyState>
      </div>
    );
  }
  return (
    <div className="table-wrap">
      <table className="table">
        <thead>
          <tr>
            <th scope="col">Method</th>
            <th scope="col" className="num">
              Errors
            </th>
            <th scope="col" className="num">
              Calls
            </th>
            <th scope="col" className="num">
              Err/s now
            </th>
          </tr>
        </thead>
        <tbody>
          {failing.map((m) => (
            <tr key={m.method}>
              <td className="mono truncate" title={m.method}>
                {m.method.replace("/agentplatform.v1.", "")}
              </td>
              <td className="num">{m.totalErrors.toString()}</td>
              <td className="num">{m.totalCalls.toString()}</td>
              <td className="num">{formatRate(m.window?.errorsPerSecond ?? 0)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
