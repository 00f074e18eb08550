"use client";
// Every registered service by kind, filterable by kind, status and text; live from the registry feed.
import Link from "next/link";
import { useSearchParams } from "next/navigation";
import { useId, useState } from "react";
import {
  healthFilterValues,
  healthLabel,
  healthSeverity,
  parseHealthFilter,
} from "../../components/health";
import { Icon } from "../../components/icons";
import {
  kindPlural,
  matchesFilter,
  parseKind,
  serviceKinds,
} from "../../components/service-summary";
import { useServices } from "../../components/services-feed";
import { EmptyState, ErrorState, LoadingState } from "../../components/state-views";
import { StatusBadge } from "../../components/status-badge";
import { useSetSearchParams } from "../../components/use-search-param";
import type { ServiceSummary } from "../../gen/agentplatform/v1/console_pb";

export function ServicesView() {
  const params = useSearchParams();
  const setParams = useSetSearchParams();
  const kind = parseKind(params.get("kind"));
  const status = parseHealthFilter(params.get("status"));
  const [text, setText] = useState(() => params.get("q") ?? "");
  const services = useServices();
  const searchId = useId();

  const all = services.data?.services ?? [];
  const shown = all
    .filter((s) => matchesFilter(s, kind, status, text))
    .sort(
      (a, b) => healthSeverity(a.status) - healthSeverity(b.status) || a.name.localeCompare(b.name),
    );
  const groups = serviceKinds
    .map((k) => ({ kind: k, services: shown.filter((s) => (s.kind || "other") === k) }))
    .filter((g) => g.services.length > 0);

  return (
    <div className="page" data-testid="services-page">
      <div className="page-header">
        <div>
          <h1>Services</h1>
          <p>
            {services.data === undefined
              ? "Reading the registry…"
              : `${all.length} services, ${all.reduce((n, s) => n + s.instances.length, 0)} instances`}
          </p>
        </div>
      </div>

      <div className="toolbar">
        <label htmlFor={searchId} className="visually-hidden">
          Search services
        </label>
        <div className="search-input" style={{ flex: "1 1 240px" }}>
          <Icon name="search" size={16} />
          <input
            id={searchId}
            className="input"
            type="search"
            placeholder="Search name, client id, capability…"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setParams({ q: e.target.value });
            }}
            data-testid="service-search"
          />
        </div>
        <FilterGroup
          label="Kind"
          options={serviceKinds.map((k) => ({ value: k, label: kindPlural(k) }))}
          value={kind}
          onChange={(value) => setParams({ kind: value })}
          testId="kind-filter"
        />
        <FilterGroup
          label="Status"
          options={healthFilterValues.map((v) => ({ value: v, label: v }))}
          value={status}
          onChange={(value) => setParams({ status: value })}
          testId="status-filter"
        />
      </div>

      {services.data === undefined ? (
        services.isPending ? (
          <LoadingState label="Loading services" rows={5} />
        ) : (
          <ErrorState error={services.error} onRetry={services.refetch} />
        )
      ) : groups.length === 0 ? (
        <EmptyState title={all.length === 0 ? "No services registered" : "No service matches"}>
          {all.length === 0 ? (
            "Start a service with a registry address (CONSUL_HTTP_ADDR) and it appears here."
          ) : (
            <button
              type="button"
              className="button small"
              onClick={() => {
                setText("");
                setParams({ q: undefined, kind: undefined, status: undefined });
              }}
            >
              Clear filters
            </button>
          )}
        </EmptyState>
      ) : (
        groups.map((group) => (
          <section key={group.kind} className="section" aria-labelledby={`kind-${group.kind}`}>
            <h2 id={`kind-${group.kind}`} className="row">
              <span style={{ textTransform: "capitalize" }}>{kindPlural(group.kind)}</span>
              <span className="chip">{group.services.length}</span>
            </h2>
            <div className="card flush service-list">
              {group.services.map((s) => (
                <ServiceRow key={s.name} service={s} />
              ))}
            </div>
          </section>
        ))
      )}
    </div>
  );
}

function ServiceRow({ service }: { service: ServiceSummary }) {
  const total = service.instances.length;
  return (
    <Link
      href={`/services/${encodeURIComponent(service.name)}`}
      className="service-row"
      data-testid={`service-row-${service.name}`}
      data-status={healthLabel(service.status)}
    >
      <span className="identity">
        <span className="truncate">
          <span className="name">{service.name}</span>
          {service.clientId !== "" && <span className="muted mono"> · {service.clientId}</span>}
        </span>
        <span className="sub" title={service.description}>
          {service.description ||
            (service.kind === "router"
              ? "Routes calls to agents, tools and workers"
              : "No description")}
        </span>
      </span>
      <span>
        <StatusBadge status={service.status} />
      </span>
      <span className="row hide-narrow" style={{ gap: 4 }}>
        {service.capabilities.slice(0, 4).map((c) => (
          <span key={c} className="chip">
            {c}
          </span>
        ))}
        {service.capabilities.length > 4 && (
          <span className="faint">+{service.capabilities.length - 4}</span>
        )}
      </span>
      <span className="muted hide-narrow nowrap">
        {service.passingInstances}/{total} passing
        {service.version !== "" && <span className="faint"> · v{service.version}</span>}
      </span>
      <span className="chevron hide-narrow">
        <Icon name="chevron" size={16} />
      </span>
    </Link>
  );
}

function FilterGroup<T extends string>({
  label,
  options,
  value,
  onChange,
  testId,
}: {
  label: string;
  options: { value: T; label: string }[];
  value: T | undefined;
  onChange: (value: T | undefined) => void;
  testId: string;
}) {
  return (
    // biome-ignore lint/a11y/useSemanticElements: a fieldset would add a legend box inside the toolbar.
    <div className="segmented" role="group" aria-label={label} data-testid={testId}>
      <button type="button" aria-pressed={value === undefined} onClick={() => onChange(undefined)}>
        All
      </button>
      {options.map((o) => (
        <button
          key={o.value}
          type="button"
          aria-pressed={value === o.value}
          onClick={() => onChange(value === o.value ? undefined : o.value)}
          style={{ textTransform: "capitalize" }}
        >
          {o.label}
        </button>
      ))}
    </div>
  );
}
