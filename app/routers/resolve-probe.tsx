"use client";
// The resolve probe: client id -> registry service -> healthy endpoints -> the instance a router would pick.
import { skipToken, useQuery } from "@connectrpc/connect-query";
import { useSearchParams } from "next/navigation";
import { type FormEvent, useId, useState } from "react";
import { Icon } from "../../components/icons";
import { useServices } from "../../components/services-feed";
import { ErrorState, LoadingState } from "../../components/state-views";
import { StatusBadge } from "../../components/status-badge";
import { useSetSearchParams } from "../../components/use-search-param";
import { ConsoleService, HealthStatus } from "../../gen/agentplatform/v1/console_pb";

export function ResolveProbe() {
  const params = useSearchParams();
  const setParams = useSetSearchParams();
  const probe = params.get("probe") ?? "";
  const kind = params.get("probeKind") ?? "";
  const [draft, setDraft] = useState(probe);
  const [draftKind, setDraftKind] = useState(kind);
  const services = useServices();
  const id = useId();
  const result = useQuery(
    ConsoleService.method.resolveTarget,
    probe === "" ? skipToken : { target: probe, kind },
    { retry: false, staleTime: 0 },
  );
  const suggestions = (services.data?.services ?? [])
    .map((s) => s.clientId)
    .filter((c) => c !== "");

  function submit(event: FormEvent) {
    event.preventDefault();
    const target = draft.trim();
    if (target === probe && draftKind === kind) void result.refetch();
    else setParams({ probe: target, probeKind: draftKind });
  }

  const data = result.data;
  const chosen = data?.router?.chosen;
  const chosenAddress = chosen ? `${chosen.address}:${chosen.port}` : undefined;

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="resolve-probe">
      <h2 id={`${id}-title`} className="card-title">
        Resolve probe
      </h2>
      <p className="muted" style={{ marginTop: 0 }}>
        Traces a client id through the registry and one router's balancer without calling it.
      </p>
      <form className="toolbar" onSubmit={submit}>
        <label htmlFor={`${id}-target`} className="visually-hidden">
          Client id or service name
        </label>
        <input
          id={`${id}-target`}
          className="input mono"
          style={{ flex: "1 1 220px" }}
          placeholder="echo-agent"
          list={`${id}-targets`}
          value={draft}
          onChange={(e) => setDraft(e.target.value)}
          data-testid="probe-target"
        />
        <datalist id={`${id}-targets`}>
          {suggestions.map((s) => (
            <option key={s} value={s} />
          ))}
        </datalist>
        <label htmlFor={`${id}-kind`} className="visually-hidden">
          Kind
        </label>
        <select
          id={`${id}-kind`}
          className="select"
          style={{ width: "auto" }}
          value={draftKind}
          onChange={(e) => setDraftKind(e.target.value)}
        >
          <option value="">kind: from the id</option>
          <option value="agent">agent</option>
          <option value="tool">tool</option>
          <option value="worker">worker</option>
        </select>
        <button type="submit" className="button primary" disabled={draft.trim() === ""}>
          <Icon name="search" size={16} /> Trace
        </button>
      </form>

      {probe !== "" && (
        <div style={{ marginTop: 16 }} data-testid="probe-result">
          {result.isPending ? (
            <LoadingState rows={3} label="Resolving" />
          ) : data === undefined ? (
            <ErrorState error={result.error} context={`Resolving ${probe}`} />
          ) : (
            <ol className="resolve-steps">
              <li>
                <span className="step-dot" aria-hidden="true" />
                <div className="step-label">Client id</div>
                <div className="mono">{data.target}</div>
              </li>
              <li>
                <span className="step-dot" aria-hidden="true" />
                <div className="step-label">Registry service</div>
                <div className="mono" data-testid="probe-service">
                  {data.service || "–"}
                </div>
              </li>
              <li>
                <span className="step-dot" aria-hidden="true" />
                <div className="step-label">
                  Registry instances (
                  {data.registryInstances.filter((i) => i.status === HealthStatus.PASSING).length}{" "}
                  healthy of {data.registryInstances.length})
                </div>
                <div className="endpoint-list" style={{ marginTop: 4 }}>
                  {data.registryInstances.length === 0 ? (
                    <span className="muted">none registered</span>
                  ) : (
                    data.registryInstances.map((i) => (
                      <span key={i.instanceId} className="row" style={{ gap: 4 }}>
                        <span className="endpoint">
                          {i.address}:{i.port}
                        </span>
                        <StatusBadge status={i.status} />
                      </span>
                    ))
                  )}
                </div>
              </li>
              <li>
                <span className="step-dot" aria-hidden="true" />
                <div className="step-label">
                  Router {data.routerId || "–"} cache
                  {data.router?.balancer ? ` · ${data.router.balancer}` : ""}
                  {data.router?.stale === true && " · stale"}
                </div>
                <div className="endpoint-list" style={{ marginTop: 4 }}>
                  {(data.router?.endpoints ?? []).length === 0 ? (
                    <span className="muted">no endpoints cached</span>
                  ) : (
                    data.router?.endpoints.map((e) => {
                      const address = `${e.address}:${e.port}`;
                      return (
                        <span
                          key={e.instanceId || address}
                          className={`endpoint${address === chosenAddress ? " chosen" : ""}`}
                        >
                          {address}
                          {e.ejected ? " (ejected)" : ""}
                          {e.inFlight > 0 ? ` · ${e.inFlight} in flight` : ""}
                        </span>
                      );
                    })
                  )}
                </div>
              </li>
              <li>
                <span className="step-dot" aria-hidden="true" />
                <div className="step-label">Chosen instance</div>
                {chosenAddress !== undefined ? (
                  <div className="row" data-testid="probe-chosen">
                    <span className="endpoint chosen">{chosenAddress}</span>
                    <span className="muted mono">{chosen?.instanceId}</span>
                  </div>
                ) : (
                  <div className="inline-error" data-testid="probe-none">
                    No instance would be chosen
                    {data.router?.reason ? `: ${data.router.reason}` : "."}
                  </div>
                )}
              </li>
            </ol>
          )}
        </div>
      )}
    </section>
  );
}
