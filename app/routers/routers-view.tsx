"use client";
// Routers: each instance with live charts, its cache compared with the registry, and the resolve probe.
import { useQuery } from "@connectrpc/connect-query";
import { useMemo } from "react";
import { formatAgo, formatDuration, formatMs, formatRate } from "../../components/format";
import { goldenSeries, latencyTitle, streamFirstMessageNote } from "../../components/golden-charts";
import { healthLabel } from "../../components/health";
import { LineChart } from "../../components/line-chart";
import { MaintenanceControl, maintenanceReason } from "../../components/maintenance-control";
import { useMetrics } from "../../components/metrics-feed";
import { EmptyState, ErrorState, LoadingState } from "../../components/state-views";
import { StatusBadge } from "../../components/status-badge";
import { useNow } from "../../components/use-now";
import {
  ConsoleService,
  type MetricsPoint,
  type RouterView,
} from "../../gen/agentplatform/v1/console_pb";
import { ResolveProbe } from "./resolve-probe";

export function routerIdOf(view: RouterView): string {
  return view.stats?.routerId || view.endpoints?.routerId || view.instance?.instanceId || "router";
}

export function RoutersView() {
  const routers = useQuery(ConsoleService.method.listRouters, {}, { refetchInterval: 3000 });
  const metrics = useMetrics();
  const now = useNow(2000);
  const list = routers.data?.routers ?? [];

  return (
    <div className="page" data-testid="routers-page">
      <div className="page-header">
        <div>
          <h1>Routers</h1>
          <p>
            {routers.data === undefined
              ? "Asking every router…"
              : `${list.length} ${list.length === 1 ? "router" : "routers"} registered as grpc-router`}
          </p>
        </div>
      </div>

      <ResolveProbe />

      {routers.data === undefined ? (
        routers.isPending ? (
          <LoadingState rows={4} />
        ) : (
          <ErrorState error={routers.error} onRetry={() => void routers.refetch()} />
        )
      ) : list.length === 0 ? (
        <EmptyState title="No routers registered">
          Routers register as <code>grpc-router</code>; start one with <code>npm start</code>.
        </EmptyState>
      ) : (
        <>
          {routers.error !== null && (
            <ErrorState error={routers.error} context="Refreshing routers" />
          )}
          {list.map((view) => {
            const id = routerIdOf(view);
            return (
              <RouterCard
                key={view.instance?.instanceId ?? id}
                view={view}
                id={id}
                points={metrics.series.get(id)}
                now={now}
              />
            );
          })}
        </>
      )}
    </div>
  );
}

function RouterCard({
  view,
  id,
  points,
  now,
}: {
  view: RouterView;
  id: string;
  points: readonly MetricsPoint[] | undefined;
  now: number;
}) {
  const stats = view.stats;
  const instance = view.instance;
  const g = useMemo(() => goldenSeries(points ?? []), [points]);
  const status = instance?.status ?? 0;
  return (
    <section
      className="card flush"
      aria-labelledby={`router-${id}`}
      data-testid={`router-${id}`}
      data-status={healthLabel(status)}
    >
      <div className="card-header">
        <h2 id={`router-${id}`} className="card-title">
          {id}
          <StatusBadge status={status} />
          {stats?.draining === true && <span className="badge tone-warn">draining</span>}
          {instance !== undefined && maintenanceReason(instance) !== undefined && (
            <span className="badge tone-warn" data-testid="router-drained">
              drained
            </span>
          )}
        </h2>
        {instance !== undefined && (
          <MaintenanceControl service="grpc-router" instance={instance} verb="drain" />
        )}
        <span className="muted mono">
          {instance ? `${instance.address}:${instance.port}` : stats?.address}
        </span>
      </div>
      <div className="card-body section">
        {view.error !== "" && (
          <p className="inline-error" role="alert">
            Stats unavailable: {view.error}
          </p>
        )}
        {stats !== undefined && (
          <dl
            className="kv"
            style={{
              gridTemplateColumns:
                "repeat(auto-fill, minmax(120px, max-content) minmax(60px, 1fr))",
            }}
          >
            <dt>Version</dt>
            <dd>{stats.version || "–"}</dd>
            <dt>Uptime</dt>
            <dd>
              {stats.startedAtMs > 0n ? formatDuration(now - Number(stats.startedAtMs)) : "–"}
            </dd>
            <dt>In flight</dt>
            <dd>{stats.inFlight}</dd>
            <dt>Calls</dt>
            <dd>{stats.totalCalls.toString()}</dd>
            <dt>Errors</dt>
            <dd>{stats.totalErrors.toString()}</dd>
            <dt>Retries</dt>
            <dd>{stats.retries.toString()}</dd>
            <dt>Ejections</dt>
            <dd>{stats.ejections.toString()}</dd>
            <dt>Dial-in links</dt>
            <dd>{stats.dialInLinks}</dd>
          </dl>
        )}
        <div className="grid-2">
          <LineChart
            title="Traffic"
            times={g.times}
            series={g.rps}
            format={formatRate}
            height={120}
            testId={`router-${id}-rps`}
          />
          <LineChart
            title={latencyTitle}
            note={streamFirstMessageNote(g.streamFirstMessageMs)}
            times={g.times}
            series={g.latency}
            format={formatMs}
            height={120}
            testId={`router-${id}-latency`}
          />
        </div>
        <CacheTable view={view} now={now} />
        {stats !== undefined && stats.backends.length > 0 && (
          <details>
            <summary>Backend instances ({stats.backends.length})</summary>
            <div className="table-wrap">
              <table className="table">
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">Address</th>
                    <th scope="col" className="num">
                      Req/s
                    </th>
                    <th scope="col" className="num hide-narrow">
                      p99
                    </th>
                    <th scope="col" className="num hide-narrow">
                      In flight
                    </th>
                    <th scope="col">State</th>
                  </tr>
                </thead>
                <tbody>
                  {stats.backends.map((b) => (
                    <tr key={`${b.service}-${b.address}`}>
                      <td>{b.service}</td>
                      <td className="mono">{b.address}</td>
                      <td className="num">{formatRate(b.window?.requestsPerSecond ?? 0)}</td>
                      <td className="num hide-narrow">{formatMs(b.window?.p99Ms ?? 0)}</td>
                      <td className="num hide-narrow">{b.inFlight}</td>
                      <td>
                        {b.ejected ? (
                          <span className="badge tone-bad">ejected</span>
                        ) : b.consecutiveFailures > 0 ? (
                          <span className="badge tone-warn">{b.consecutiveFailures} failures</span>
                        ) : (
                          <span className="badge tone-ok">ok</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        )}
      </div>
    </section>
  );
}

function CacheTable({ view, now }: { view: RouterView; now: number }) {
  const cached = view.endpoints?.services ?? [];
  const drift = new Map(view.drift.map((d) => [d.service, d]));
  const names = [...new Set([...cached.map((c) => c.service), ...drift.keys()])].sort();
  const driftCount = view.drift.reduce((n, d) => n + d.missing.length + d.stale.length, 0);
  return (
    <div className="section">
      <div className="section-header">
        <h3>Cache vs registry</h3>
        <span className="row">
          {view.endpoints !== undefined && !view.endpoints.registryReachable && (
            <span className="badge tone-bad">registry unreachable</span>
          )}
          {driftCount === 0 ? (
            <span className="badge tone-ok" data-testid="drift-none">
              in sync
            </span>
          ) : (
            <span className="badge tone-warn" data-testid="drift-count">
              {driftCount} {driftCount === 1 ? "difference" : "differences"}
            </span>
          )}
        </span>
      </div>
      {names.length === 0 ? (
        <p className="muted">The router has not resolved any service yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Endpoints in the router's cache</th>
                <th scope="col" className="hide-narrow">
                  Refreshed
                </th>
              </tr>
            </thead>
            <tbody>
              {names.map((name) => {
                const entry = cached.find((c) => c.service === name);
                const d = drift.get(name);
                const stale = new Set(d?.stale ?? []);
                return (
                  <tr key={name} data-testid={`cache-${name}`}>
                    <td>
                      {name}
                      {entry?.stale === true && (
                        <>
                          {" "}
                          <span className="badge tone-warn">stale cache</span>
                        </>
                      )}
                    </td>
                    <td>
                      <div className="endpoint-list">
                        {(entry?.endpoints ?? []).map((e) => {
                          const address = `${e.address}:${e.port}`;
                          const isStale = stale.has(address) || stale.has(e.instanceId);
                          return (
                            <span
                              key={e.instanceId || address}
                              className={`endpoint${isStale ? " stale" : ""}`}
                              title={
                                isStale
                                  ? "The registry no longer lists this instance"
                                  : e.instanceId
                              }
                            >
                              {address}
                              {e.ejected && " (ejected)"}
                            </span>
                          );
                        })}
                        {(d?.missing ?? []).map((m) => (
                          <span
                            key={`missing-${m}`}
                            className="endpoint missing"
                            title="Healthy in the registry but not in the router's cache"
                          >
                            + {m}
                          </span>
                        ))}
                      </div>
                    </td>
                    <td className="nowrap muted hide-narrow">
                      {entry !== undefined && entry.refreshedAtMs > 0n
                        ? formatAgo(Number(entry.refreshedAtMs), now)
                        : "–"}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {driftCount > 0 && (
        <p className="faint" style={{ margin: 0 }}>
          <span className="drift-missing">+ missing</span>: healthy in the registry, not yet in the
          cache. <span className="drift-stale">struck through</span>: still cached, gone from the
          registry.
        </p>
      )}
    </div>
  );
}
