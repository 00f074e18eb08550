"use client";
// One service: what it is, every instance with its checks, outputs and status history.
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useEffect } from "react";
import { formatAgo } from "../../../components/format";
import { healthLabel } from "../../../components/health";
import { Icon } from "../../../components/icons";
import { MaintenanceControl, maintenanceReason } from "../../../components/maintenance-control";
import { useServices } from "../../../components/services-feed";
import { EmptyState, ErrorState, LoadingState } from "../../../components/state-views";
import { StatusBadge } from "../../../components/status-badge";
import { StatusTimelineBar } from "../../../components/status-timeline-bar";
import { useNow } from "../../../components/use-now";
import type {
  HealthCheck,
  ServiceInstance,
  ServiceSummary,
} from "../../../gen/agentplatform/v1/console_pb";

export function ServiceDetailView({ name }: { name: string }) {
  const services = useServices();
  const params = useSearchParams();
  const focus = params.get("instance");
  const now = useNow(2000);
  const service = services.data?.services.find((s) => s.name === name);

  useEffect(() => {
    if (focus === null || service === undefined) return;
    document.getElementById(`instance-${focus}`)?.scrollIntoView({ block: "start" });
  }, [focus, service]);

  return (
    <div className="page" data-testid="service-detail-page">
      <nav className="breadcrumbs" aria-label="Breadcrumb">
        <Link href="/services">Services</Link>
        <span aria-hidden="true">/</span>
        <span aria-current="page">{name}</span>
      </nav>
      {services.data === undefined ? (
        services.isPending ? (
          <LoadingState rows={5} />
        ) : (
          <ErrorState error={services.error} onRetry={services.refetch} />
        )
      ) : service === undefined ? (
        <EmptyState title={`No service named "${name}"`} testId="service-missing">
          It is not in the registry now. <Link href="/services">See every service</Link>.
        </EmptyState>
      ) : (
        <ServiceDetail service={service} now={now} focus={focus} />
      )}
    </div>
  );
}

function ServiceDetail({
  service,
  now,
  focus,
}: {
  service: ServiceSummary;
  now: number;
  focus: string | null;
}) {
  const canRun = service.kind === "agent" || service.kind === "tool" || service.kind === "worker";
  return (
    <>
      <div className="page-header">
        <div>
          <h1 className="row">
            {service.name}
            <StatusBadge status={service.status} testId="service-status" />
          </h1>
          <p>{service.description || "No description registered."}</p>
        </div>
        <div className="toolbar">
          {canRun && (
            <Link
              className="button primary"
              href={`/run?target=${encodeURIComponent(service.clientId)}&kind=${service.kind}`}
            >
              <Icon name="run" size={16} /> Run a method
            </Link>
          )}
          {service.clientId !== "" && (
            <Link
              className="button"
              href={`/routers?probe=${encodeURIComponent(service.clientId)}`}
            >
              <Icon name="routers" size={16} /> Trace routing
            </Link>
          )}
        </div>
      </div>

      <section className="card">
        <dl className="kv">
          <dt>Kind</dt>
          <dd>
            <span className="chip kind-chip">{service.kind || "other"}</span>
          </dd>
          <dt>Client id</dt>
          <dd className="mono">{service.clientId || "–"}</dd>
          <dt>Version</dt>
          <dd>{service.version || "–"}</dd>
          <dt>Instances</dt>
          <dd>
            {service.passingInstances} of {service.instances.length} passing
          </dd>
          <dt>Capabilities</dt>
          <dd className="row" style={{ gap: 4 }}>
            {service.capabilities.length === 0
              ? "–"
              : service.capabilities.map((c) => (
                  <span key={c} className="chip">
                    {c}
                  </span>
                ))}
          </dd>
          <dt>Tags</dt>
          <dd className="row" style={{ gap: 4 }}>
            {service.tags.length === 0
              ? "–"
              : service.tags.map((t) => (
                  <span key={t} className="chip">
                    {t}
                  </span>
                ))}
          </dd>
        </dl>
      </section>

      <section className="section" aria-labelledby="instances-heading">
        <h2 id="instances-heading">Instances</h2>
        {focus !== null && !service.instances.some((i) => i.instanceId === focus) && (
          <p className="muted" role="status" data-testid="instance-deregistered">
            Instance <span className="mono">{focus}</span> is not in the registry now: it was
            deregistered.
          </p>
        )}
        {service.instances.length === 0 ? (
          <EmptyState title="No instances registered" />
        ) : (
          <div className="instance-grid">
            {service.instances.map((instance) => (
              <InstanceCard
                key={instance.instanceId}
                service={service.name}
                instance={instance}
                now={now}
                focused={focus === instance.instanceId}
              />
            ))}
          </div>
        )}
      </section>
    </>
  );
}

/** Meta the service summary above already shows. */
const summaryMetaKeys = new Set(["name", "client_id", "description", "capabilities", "version"]);

function InstanceCard({
  service,
  instance,
  now,
  focused,
}: {
  service: string;
  instance: ServiceInstance;
  now: number;
  focused: boolean;
}) {
  const maintenance = maintenanceReason(instance);
  const meta = Object.entries(instance.meta).filter(([k]) => !summaryMetaKeys.has(k));
  return (
    <article
      id={`instance-${instance.instanceId}`}
      className="card instance-card"
      data-testid={`instance-${instance.instanceId}`}
      data-status={healthLabel(instance.status)}
      style={focused ? { borderColor: "var(--accent)" } : undefined}
    >
      <header className="row">
        <h3 className="mono truncate" style={{ flex: 1 }} title={instance.instanceId}>
          {instance.instanceId}
        </h3>
        <StatusBadge status={instance.status} />
      </header>
      {maintenance !== undefined && (
        <p className="maintenance-note" data-testid="maintenance-note">
          <strong>In maintenance:</strong> {maintenance}
        </p>
      )}
      <div className="row">
        <MaintenanceControl service={service} instance={instance} />
      </div>
      <dl className="kv">
        <dt>Address</dt>
        <dd className="mono">
          {instance.address}:{instance.port}
        </dd>
        {instance.node !== "" && (
          <>
            <dt>Node</dt>
            <dd>{instance.node}</dd>
          </>
        )}
        {meta.map(([k, v]) => (
          <MetaRow key={k} name={k} value={v} />
        ))}
      </dl>
      <div className="section">
        {instance.checks.length === 0 ? (
          <p className="muted">No health checks registered.</p>
        ) : (
          instance.checks.map((check) => <CheckView key={check.checkId} check={check} now={now} />)
        )}
      </div>
    </article>
  );
}

function MetaRow({ name, value }: { name: string; value: string }) {
  return (
    <>
      <dt>{name}</dt>
      <dd>{value || "–"}</dd>
    </>
  );
}

function CheckView({ check, now }: { check: HealthCheck; now: number }) {
  const last = check.history.at(-1);
  return (
    <div className="check" data-testid="health-check" data-status={healthLabel(check.status)}>
      <div className="row">
        <strong style={{ flex: 1 }}>{check.name || check.checkId}</strong>
        {check.type !== "" && <span className="chip">{check.type}</span>}
        {check.interval !== "" && <span className="faint">every {check.interval}</span>}
        {check.flapping && (
          <span className="badge tone-warn" data-testid="flapping">
            flapping
          </span>
        )}
        <StatusBadge status={check.status} />
      </div>
      <StatusTimelineBar history={check.history} nowMs={now} label={check.name || check.checkId} />
      {last !== undefined && (
        <span className="faint">
          {healthLabel(last.status)} since {formatAgo(Number(last.atMs), now)} ·{" "}
          {check.history.length} recorded {check.history.length === 1 ? "change" : "changes"}
        </span>
      )}
      {check.output !== "" && <pre className="check-output mono">{check.output}</pre>}
    </div>
  );
}
