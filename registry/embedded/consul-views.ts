// Renders registry records in Consul's JSON shapes (agent, catalog and health endpoints).
import { formatGoDuration } from "./go-duration";
import type { CheckRecord, ServiceRecord } from "./registry-model";
import type { NodeInfo } from "./registry-state";

const weights = { Passing: 1, Warning: 1 };

function taggedAddresses(node: NodeInfo) {
  return { lan: node.address, lan_ipv4: node.address, wan: node.address, wan_ipv4: node.address };
}

export function nodeView(node: NodeInfo, createIndex: number) {
  return {
    ID: node.id,
    Node: node.name,
    Address: node.address,
    Datacenter: node.datacenter,
    TaggedAddresses: taggedAddresses(node),
    Meta: { "consul-network-segment": "" },
    CreateIndex: createIndex,
    ModifyIndex: createIndex,
  };
}

/** GET /v1/agent/service/:id and the values of GET /v1/agent/services. */
export function agentServiceView(service: ServiceRecord, node: NodeInfo) {
  return {
    ID: service.id,
    Service: service.name,
    Tags: service.tags,
    Meta: service.meta,
    Port: service.port,
    Address: service.address,
    Weights: weights,
    EnableTagOverride: false,
    Datacenter: node.datacenter,
  };
}

function checkDefinition(check: CheckRecord) {
  const spec = check.spec;
  const definition: Record<string, unknown> = {};
  if (spec.kind === "grpc") {
    definition.GRPC = spec.target;
    definition.GRPCUseTLS = spec.grpcUseTls;
    definition.TLSSkipVerify = spec.tlsSkipVerify;
  }
  if (spec.kind === "tcp") definition.TCP = spec.target;
  if (spec.kind === "http") {
    definition.HTTP = spec.target;
    definition.Method = spec.method;
    definition.Header = spec.header;
    definition.TLSSkipVerify = spec.tlsSkipVerify;
  }
  if (spec.intervalMs > 0) definition.Interval = formatGoDuration(spec.intervalMs);
  if (spec.timeoutMs !== undefined) definition.Timeout = formatGoDuration(spec.timeoutMs);
  if (spec.ttlMs > 0) definition.TTL = formatGoDuration(spec.ttlMs);
  if (spec.deregisterAfterMs !== undefined) {
    definition.DeregisterCriticalServiceAfter = formatGoDuration(spec.deregisterAfterMs);
  }
  return definition;
}

/** A check as GET /v1/agent/checks, /v1/health/checks/:service and /v1/health/state/:state show it. */
export function healthCheckView(check: CheckRecord, node: NodeInfo) {
  const isNodeCheck = check.serviceId === "";
  return {
    Node: node.name,
    CheckID: check.spec.id,
    Name: check.spec.name,
    Status: check.status,
    Notes: check.spec.notes,
    Output: check.output,
    ServiceID: check.serviceId,
    ServiceName: check.serviceName,
    ServiceTags: check.serviceTags,
    // Consul leaves the node's serf check untyped.
    Type: isNodeCheck ? "" : check.spec.kind,
    Interval: check.spec.intervalMs > 0 ? formatGoDuration(check.spec.intervalMs) : "",
    Timeout: check.spec.timeoutMs !== undefined ? formatGoDuration(check.spec.timeoutMs) : "",
    ExposedPort: 0,
    Definition: isNodeCheck ? {} : checkDefinition(check),
    CreateIndex: check.createIndex,
    ModifyIndex: check.modifyIndex,
  };
}

/** One element of GET /v1/catalog/service/:name. */
export function catalogServiceView(service: ServiceRecord, node: NodeInfo) {
  const n = nodeView(node, 1);
  return {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: n.TaggedAddresses,
    NodeMeta: n.Meta,
    ServiceID: service.id,
    ServiceName: service.name,
    ServiceTags: service.tags,
    ServiceAddress: service.address,
    ServicePort: service.port,
    ServiceMeta: service.meta,
    ServiceWeights: weights,
    ServiceEnableTagOverride: false,
    CreateIndex: service.createIndex,
    ModifyIndex: service.modifyIndex,
  };
}

/** One element of GET /v1/health/service/:name: node, service and every check that judges it. */
export function serviceEntryView(service: ServiceRecord, checks: CheckRecord[], node: NodeInfo) {
  return {
    Node: nodeView(node, 1),
    Service: {
      ...agentServiceView(service, node),
      CreateIndex: service.createIndex,
      ModifyIndex: service.modifyIndex,
    },
    Checks: checks.map((c) => healthCheckView(c, node)),
  };
}
