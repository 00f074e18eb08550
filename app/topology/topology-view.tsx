"use client";
// Topology: gateway → routers → services → instances, live. Edge width and colour follow the
// requests a second and the error rate the routers measure; nodes take their health colour and
// open their detail page.
import { useQuery } from "@connectrpc/connect-query";
import Link from "next/link";
import { formatPercent, formatRate } from "../../components/format";
import { healthLabel, healthTone } from "../../components/health";
import { useServices } from "../../components/services-feed";
import { ErrorState, LoadingState } from "../../components/state-views";
import { StatusBadge } from "../../components/status-badge";
import {
  buildTopology,
  type TopologyEdge,
  type TopologyNode,
} from "../../components/topology-model";
import { ConsoleService } from "../../gen/agentplatform/v1/console_pb";

const maxLabel = 24;
/** Must match the column positions in components/topology-model.ts. */
const columnX = [0.05, 0.25, 0.48, 0.72];

function short(text: string): string {
  return text.length > maxLabel ? `${text.slice(0, maxLabel - 1)}…` : text;
}

function traffic(rps: number, errors: number): string {
  if (rps <= 0) return "idle";
  return `${formatRate(rps)}/s · ${formatPercent(errors / rps)} err`;
}

function edgeTone(e: TopologyEdge): string {
  if (e.rps <= 0) return "idle";
  const ratio = e.errorsPerSecond / e.rps;
  return ratio >= 0.05 ? "bad" : ratio > 0 ? "warn" : "ok";
}

export function TopologyView() {
  const services = useServices();
  const routers = useQuery(ConsoleService.method.listRouters, {}, { refetchInterval: 2000 });

  if (services.data === undefined || routers.data === undefined) {
    const error = services.error ?? routers.error;
    return (
      <div className="page" data-testid="topology-page">
        <h1>Topology</h1>
        {error ? <ErrorState error={error} /> : <LoadingState rows={6} />}
      </div>
    );
  }
  const topology = buildTopology(services.data.services, routers.data.routers);
  const byId = new Map(topology.nodes.map((n) => [n.id, n]));
  const serviceNodes = topology.nodes.filter((n) => n.kind === "service");

  return (
    <div className="page" data-testid="topology-page">
      <div className="page-header">
        <div>
          <h1>Topology</h1>
          <p>
            Gateway → routers → services → instances. Lines carry the last second's requests and
            error rate as the routers measure them; select a node to open it.
          </p>
        </div>
      </div>
      <div className="card flush topology-card">
        <svg
          className="topology"
          viewBox={`0 0 ${topology.width} ${topology.height}`}
          width={topology.width}
          height={topology.height}
          aria-labelledby="topology-graph-title"
          data-testid="topology-graph"
        >
          <title id="topology-graph-title">
            Topology graph: {topology.nodes.length} nodes, {topology.edges.length} connections
          </title>
          {["Gateway", "Routers", "Services", "Instances"].map((title, i) => (
            <text
              key={title}
              className="topology-column"
              x={(columnX[i] ?? 0) * topology.width}
              y={18}
              textAnchor="middle"
            >
              {title}
            </text>
          ))}
          {topology.edges.map((e) => {
            const from = byId.get(e.from);
            const to = byId.get(e.to);
            if (!from || !to) return null;
            const mid = (from.x + to.x) / 2;
            const width = e.rps > 0 ? Math.min(7, 1.5 + Math.log10(1 + e.rps) * 2) : 1;
            return (
              <g key={`${e.from}>${e.to}`} data-testid="topology-edge" data-rps={e.rps.toFixed(1)}>
                <path
                  className={`topology-edge edge-${edgeTone(e)}`}
                  d={`M${from.x + 8},${from.y} C${mid},${from.y} ${mid},${to.y} ${to.x - 8},${to.y}`}
                  strokeWidth={width}
                >
                  <title>{`${from.label} → ${to.label}: ${traffic(e.rps, e.errorsPerSecond)}`}</title>
                </path>
                {e.rps > 0 && (from.kind === "gateway" || topology.edges.length < 40) && (
                  <text
                    className="topology-edge-label"
                    x={mid}
                    y={(from.y + to.y) / 2 - 4}
                    textAnchor="middle"
                  >
                    {formatRate(e.rps)}/s
                  </text>
                )}
              </g>
            );
          })}
          {topology.nodes.map((n) => (
            <NodeMark key={n.id} node={n} />
          ))}
        </svg>
      </div>

      <section className="section" aria-labelledby="topology-table">
        <h2 id="topology-table">Traffic by service</h2>
        <div className="card flush table-wrap">
          <table className="table" data-testid="topology-table">
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col">Health</th>
                <th scope="col" className="num">
                  Requests/s
                </th>
                <th scope="col" className="num">
                  Error rate
                </th>
              </tr>
            </thead>
            <tbody>
              {serviceNodes.map((n) => (
                <tr key={n.id} data-testid={`topology-row-${n.label}`}>
                  <td>
                    <Link href={n.href}>{n.label}</Link>
                  </td>
                  <td>
                    <StatusBadge status={n.status} />
                  </td>
                  <td className="num">{formatRate(n.rps)}</td>
                  <td className="num">
                    {n.rps > 0 ? formatPercent(n.errorsPerSecond / n.rps) : "–"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </div>
  );
}

function NodeMark({ node }: { node: TopologyNode }) {
  const tone = node.kind === "gateway" ? "accent" : healthTone(node.status);
  return (
    <Link
      href={node.href}
      className="topology-node"
      aria-label={`${node.kind} ${node.label}, ${healthLabel(node.status)}, ${traffic(node.rps, node.errorsPerSecond)}`}
      data-testid={`topology-node-${node.kind}`}
      data-id={node.label}
      data-status={healthLabel(node.status)}
    >
      <circle
        className={`node-${tone}`}
        cx={node.x}
        cy={node.y}
        r={node.kind === "gateway" ? 10 : 7}
      />
      <text className="topology-label" x={node.x + 12} y={node.y - 2} textAnchor="start">
        {short(node.label)}
      </text>
      <text className="topology-sub" x={node.x + 12} y={node.y + 11} textAnchor="start">
        {traffic(node.rps, node.errorsPerSecond)}
      </text>
    </Link>
  );
}
