// Envoy cannot run on this machine: these tests read envoy/envoy.yaml and check it against the
// v3 API field names (deploy/envoy-v3-schema.json) and against what the platform relies on.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { validateEnvoy } from "./envoy-schema";

const root = new URL("../", import.meta.url);
const read = (path: string) => parse(readFileSync(new URL(path, root), "utf8")) as unknown;

/** Walks a parsed document by keys and list indexes, failing the test on a missing step. */
function at(node: unknown, ...steps: (string | number)[]): unknown {
  let current = node;
  for (const step of steps) {
    if (typeof current !== "object" || current === null || !(step in current)) {
      throw new Error(`missing ${steps.join(".")} (stopped at ${String(step)})`);
    }
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

const list = (node: unknown) => (Array.isArray(node) ? (node as unknown[]) : []);
const envoy = read("envoy/envoy.yaml");
const listeners = list(at(envoy, "static_resources", "listeners"));
const clusters = list(at(envoy, "static_resources", "clusters"));
const listener = (port: number) => {
  const found = listeners.find((l) => at(l, "address", "socket_address", "port_value") === port);
  if (!found) throw new Error(`no listener on ${port}`);
  return at(found, "filter_chains", 0, "filters", 0, "typed_config");
};
const cluster = (name: string) => {
  const found = clusters.find((c) => at(c, "name") === name);
  if (!found) throw new Error(`no cluster ${name}`);
  return found;
};

describe("envoy/envoy.yaml", () => {
  it("uses only v3 fields, enum values and @type URLs that exist in Envoy's API", () => {
    expect(validateEnvoy(envoy)).toEqual([]);
  });

  it("the schema check catches a misspelt field, a bad enum value and an unknown @type", () => {
    const broken = structuredClone(envoy) as Record<string, unknown>;
    const c = at(broken, "static_resources", "clusters", 0) as Record<string, unknown>;
    c.type = "STRICT_DNSS";
    c.retry_polcy = {};
    const hcm = at(broken, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0);
    (hcm as Record<string, unknown>).typed_config = {
      "@type":
        "type.googleapis.com/envoy.config.filter.network.http_connection_manager.v2.HttpConnectionManager",
    };
    const problems = validateEnvoy(broken).join("\n");
    expect(problems).toContain('"STRICT_DNSS" is not one of');
    expect(problems).toContain("retry_polcy: not a field of envoy.config.cluster.v3.Cluster");
    expect(problems).toContain("unknown @type type.googleapis.com/envoy.config.filter.network");
  });

  it("serves the gRPC front door on 50051 and admin on 9901", () => {
    expect(at(envoy, "admin", "address", "socket_address", "port_value")).toBe(9901);
    const hcm = listener(50051);
    expect(at(hcm, "codec_type")).toBe("HTTP2");
    const filters = list(at(hcm, "http_filters")).map((f) => at(f, "name"));
    expect(filters.at(-1)).toBe("envoy.filters.http.router");
  });

  it("retries only connect-failure, refused-stream and reset, never on gRPC status", () => {
    const route = at(listener(50051), "route_config", "virtual_hosts", 0, "routes", 0, "route");
    expect(at(route, "cluster")).toBe("routers");
    const retryOn = String(at(route, "retry_policy", "retry_on")).split(",");
    expect(retryOn.sort()).toEqual(["connect-failure", "refused-stream", "reset"]);
    // connect-node answers errors as headers + trailers, never Trailers-Only: conditions that
    // read grpc-status from response headers would never fire.
    for (const grpcCondition of ["cancelled", "deadline-exceeded", "internal", "unavailable"]) {
      expect(retryOn).not.toContain(grpcCondition);
    }
  });

  it("does not cut long streams: route timeout 0s, no idle or duration limit per stream", () => {
    for (const port of [50051, 8080]) {
      const hcm = listener(port);
      expect(at(hcm, "stream_idle_timeout")).toBe("0s");
      expect(at(hcm, "common_http_protocol_options")).not.toHaveProperty("max_stream_duration");
      const route = at(hcm, "route_config", "virtual_hosts", 0, "routes", 0, "route");
      expect(at(route, "timeout")).toBe("0s");
      expect(at(route, "max_stream_duration", "grpc_timeout_header_max")).toBe("0s");
    }
  });

  it("finds routers by DNS on the Compose service name, over HTTP/2, with gRPC health checks", () => {
    const routers = cluster("routers");
    expect(at(routers, "type")).toBe("STRICT_DNS");
    const address = at(routers, "load_assignment", "endpoints", 0, "lb_endpoints", 0, "endpoint");
    expect(at(address, "address", "socket_address")).toEqual({
      address: "router",
      port_value: 50051,
    });
    const options = at(
      routers,
      "typed_extension_protocol_options",
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    );
    expect(at(options, "explicit_http_config")).toHaveProperty("http2_protocol_options");
    const check = at(routers, "health_checks", 0);
    expect(at(check, "interval")).toBe("2s");
    expect(at(check, "grpc_health_check")).toEqual({ service_name: "" });
    expect(at(routers, "outlier_detection")).toHaveProperty("consecutive_gateway_failure");
  });

  it("bridges gRPC-Web and applies CORS for the console on 8080, in filter order", () => {
    const hcm = listener(8080);
    const filters = list(at(hcm, "http_filters")).map((f) => at(f, "name"));
    expect(filters).toEqual([
      "envoy.filters.http.grpc_web",
      "envoy.filters.http.cors",
      "envoy.filters.http.router",
    ]);
    const vhost = at(hcm, "route_config", "virtual_hosts", 0);
    // The per-route config key must be the CORS filter's name in the chain above.
    const cors = at(vhost, "typed_per_filter_config", "envoy.filters.http.cors");
    expect(list(at(cors, "allow_origin_string_match"))).toContainEqual({
      exact: "http://localhost:3000",
    });
    const allowHeaders = String(at(cors, "allow_headers"));
    for (const header of ["x-grpc-web", "connect-protocol-version", "grpc-timeout"]) {
      expect(allowHeaders).toContain(header);
    }
    expect(String(at(cors, "expose_headers"))).toContain("grpc-status");
    expect(at(vhost, "routes", 0, "route", "cluster")).toBe("gateway");
  });
});

describe("envoy/envoy-tls.yaml", () => {
  const tls = read("envoy/envoy-tls.yaml");
  const tlsListener = (port: number) => {
    const found = list(at(tls, "static_resources", "listeners")).find(
      (l) => at(l, "address", "socket_address", "port_value") === port,
    );
    if (!found) throw new Error(`no listener on ${port}`);
    return at(found, "filter_chains", 0);
  };
  const tlsCluster = (name: string) => {
    const found = list(at(tls, "static_resources", "clusters")).find((c) => at(c, "name") === name);
    if (!found) throw new Error(`no cluster ${name}`);
    return found;
  };

  it("uses only v3 fields, enum values and @type URLs that exist in Envoy's API", () => {
    expect(validateEnvoy(tls)).toEqual([]);
  });

  it("requires client certificates on the gRPC front door, not on the browser endpoint", () => {
    const grpcTls = at(tlsListener(50051), "transport_socket", "typed_config");
    expect(at(grpcTls, "require_client_certificate")).toBe(true);
    expect(at(grpcTls, "common_tls_context", "validation_context", "trusted_ca")).toEqual({
      filename: "/certs/ca.pem",
    });
    const browserTls = at(tlsListener(8080), "transport_socket", "typed_config");
    expect(browserTls).not.toHaveProperty("require_client_certificate");
  });

  it("presents the node certificate to routers and gateway and checks theirs", () => {
    for (const name of ["routers", "gateway"]) {
      const upstream = at(tlsCluster(name), "transport_socket", "typed_config");
      expect(at(upstream, "@type")).toBe(
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      );
      expect(
        at(upstream, "common_tls_context", "tls_certificates", 0, "certificate_chain"),
      ).toEqual({ filename: "/certs/node.pem" });
      expect(at(upstream, "common_tls_context", "validation_context", "trusted_ca")).toEqual({
        filename: "/certs/ca.pem",
      });
    }
  });

  it("routes exactly like envoy/envoy.yaml", () => {
    for (const port of [50051, 8080]) {
      const plainChain = at(
        listeners.find((l) => at(l, "address", "socket_address", "port_value") === port),
        "filter_chains",
        0,
        "filters",
      );
      expect(at(tlsListener(port), "filters")).toEqual(plainChain);
    }
    const withoutTls = (c: unknown) => {
      const { transport_socket: _, health_checks: __, ...rest } = c as Record<string, unknown>;
      return rest;
    };
    expect(withoutTls(tlsCluster("routers"))).toEqual(withoutTls(cluster("routers")));
    expect(at(tlsCluster("routers"), "health_checks")).toEqual(
      at(cluster("routers"), "health_checks"),
    );
  });
});
