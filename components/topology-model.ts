// The live topology as nodes and edges: gateway → routers → services → instances, with each
// edge's requests/s and errors/s taken from the routers' windowed stats (RouterStats.backends),
// laid out in four columns.
import {
  HealthStatus,
  type RouterView,
  type ServiceSummary,
} from "../gen/agentplatform/v1/console_pb";

export type NodeKind = "gateway" | "router" | "service" | "instance";

export interface TopologyNode {
  id: string;
  kind: NodeKind;
  label: string;
  status: HealthStatus;
  href: string;
  x: number;
  y: number;
  /** Requests a second through the node (into it, for routers, services and instances). */
  rps: number;
  errorsPerSecond: number;
}

export interface TopologyEdge {
  from: string;
  to: string;
  rps: number;
  errorsPerSecond: number;
}

export interface Topology {
  nodes: TopologyNode[];
  edges: TopologyEdge[];
  width: number;
  height: number;
}

export interface LayoutOptions {
  /** Default 980. */
  width?: number;
  /** Vertical space per node in the fullest column. Default 34. */
  rowHeight?: number;
}

const columns: Record<NodeKind, number> = {
  gateway: 0.05,
  router: 0.25,
  service: 0.48,
  instance: 0.72,
};

export function buildTopology(
  services: readonly ServiceSummary[],
  routers: readonly RouterView[],
  options: LayoutOptions = {},
): Topology {
  const width = options.width ?? 980;
  const rowHeight = options.rowHeight ?? 34;
  const routable = services.filter((s) => s.kind !== "router");
  const nodes: TopologyNode[] = [];
  const edges = new Map<string, TopologyEdge>();
  const addEdge = (from: string, to: string, rps: number, errors: number) => {
    const key = `${from}>${to}`;
    const edge = edges.get(key) ?? { from, to, rps: 0, errorsPerSecond: 0 };
    edge.rps += rps;
    edge.errorsPerSecond += errors;
    edges.set(key, edge);
  };

  // Instances are matched to router backends by address ("host:port").
  const instanceByAddress = new Map<string, { service: string; id: string }>();
  for (const s of routable) {
    for (const i of s.instances)
      instanceByAddress.set(`${i.address}:${i.port}`, { service: s.name, id: i.instanceId });
  }

  const routerNodes = routers.map((r) => {
    const id = r.stats?.routerId || r.instance?.instanceId || "router";
    const total = r.stats?.total;
    addEdge("gateway", `router:${id}`, total?.requestsPerSecond ?? 0, total?.errorsPerSecond ?? 0);
    for (const b of r.stats?.backends ?? []) {
      const rps = b.window?.requestsPerSecond ?? 0;
      const errors = b.window?.errorsPerSecond ?? 0;
      addEdge(`router:${id}`, `service:${b.service}`, rps, errors);
      const instance = instanceByAddress.get(b.address);
      if (instance) addEdge(`service:${b.service}`, `instance:${instance.id}`, rps, errors);
    }
    // Services the router has endpoints for but no traffic to still get a (quiet) edge.
    for (const cached of r.endpoints?.services ?? [])
      addEdge(`router:${id}`, `service:${cached.service}`, 0, 0);
    return {
      id: `router:${id}`,
      kind: "router" as const,
      label: id,
      status: r.instance?.status ?? (r.error ? HealthStatus.CRITICAL : HealthStatus.UNSPECIFIED),
      href: `/routers#router-${id}`,
      rps: total?.requestsPerSecond ?? 0,
      errorsPerSecond: total?.errorsPerSecond ?? 0,
    };
  });

  const serviceNodes = routable.map((s) => ({
    id: `service:${s.name}`,
    kind: "service" as const,
    label: s.name,
    status: s.status,
    href: `/services/${encodeURIComponent(s.name)}`,
    rps: 0,
    errorsPerSecond: 0,
  }));
  const instanceNodes = routable.flatMap((s) =>
    s.instances.map((i) => ({
      id: `instance:${i.instanceId}`,
      kind: "instance" as const,
      label: i.instanceId,
      status: i.status,
      href: `/services/${encodeURIComponent(s.name)}?instance=${encodeURIComponent(i.instanceId)}`,
      rps: 0,
      errorsPerSecond: 0,
    })),
  );
  // Every instance hangs off its service, with traffic or without.
  for (const s of routable)
    for (const i of s.instances) addEdge(`service:${s.name}`, `instance:${i.instanceId}`, 0, 0);

  const tallest = Math.max(1, routerNodes.length, serviceNodes.length, instanceNodes.length);
  const height = Math.max(240, tallest * rowHeight + rowHeight);
  const place = <T extends Omit<TopologyNode, "x" | "y">>(column: T[], kind: NodeKind) =>
    column.map((n, i) => ({
      ...n,
      x: columns[kind] * width,
      y: ((i + 1) * height) / (column.length + 1),
    }));

  const gatewayTotal = routerNodes.reduce(
    (sum, r) => ({ rps: sum.rps + r.rps, errors: sum.errors + r.errorsPerSecond }),
    { rps: 0, errors: 0 },
  );
  nodes.push(
    ...place(
      [
        {
          id: "gateway",
          kind: "gateway",
          label: "gateway",
          status: HealthStatus.PASSING,
          href: "/",
          rps: gatewayTotal.rps,
          errorsPerSecond: gatewayTotal.errors,
        },
      ],
      "gateway",
    ),
    ...place(routerNodes, "router"),
    ...place(serviceNodes, "service"),
    ...place(instanceNodes, "instance"),
  );
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const kept = [...edges.values()].filter((e) => byId.has(e.from) && byId.has(e.to));
  // A node's traffic is what flows into it.
  for (const e of kept) {
    const to = byId.get(e.to);
    if (to && to.kind !== "router") {
      to.rps += e.rps;
      to.errorsPerSecond += e.errorsPerSecond;
    }
  }
  return { nodes, edges: kept, width, height };
}
