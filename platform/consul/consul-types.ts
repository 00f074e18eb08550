// The JSON shapes of the Consul HTTP API subset the platform uses (Consul's own field names).

export type CheckStatus = "passing" | "warning" | "critical";

/** A check definition, as sent in a service registration (PUT /v1/agent/service/register). */
export interface CheckDefinition {
  CheckID?: string;
  Name?: string;
  /** host:port of a grpc.health.v1 server; "host:port/service" checks one service. */
  GRPC?: string;
  GRPCUseTLS?: boolean;
  /** Skip certificate verification for GRPCUseTLS and https HTTP checks. Default false. */
  TLSSkipVerify?: boolean;
  TCP?: string;
  HTTP?: string;
  TTL?: string;
  Interval?: string;
  Timeout?: string;
  DeregisterCriticalServiceAfter?: string;
  /** Initial status; Consul starts checks critical unless told otherwise. */
  Status?: CheckStatus;
  Notes?: string;
}

export interface ServiceRegistration {
  ID?: string;
  Name: string;
  Tags?: string[];
  Address?: string;
  Port?: number;
  Meta?: Record<string, string>;
  Check?: CheckDefinition;
  Checks?: CheckDefinition[];
}

/** One entry of GET /v1/health/service/:name. */
export interface ServiceEntry {
  Node: { ID: string; Node: string; Address: string; Datacenter: string };
  Service: {
    ID: string;
    Service: string;
    Tags: string[];
    Address: string;
    Port: number;
    Meta: Record<string, string>;
  };
  Checks: HealthCheckEntry[];
}

/** A check's state, as in GET /v1/health/service/:name and /v1/health/state/:state. */
export interface HealthCheckEntry {
  Node: string;
  CheckID: string;
  Name: string;
  Status: CheckStatus;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval?: string;
  Timeout?: string;
}

/** GET /v1/catalog/services: service name → tags. */
export type CatalogServices = Record<string, string[]>;

/** The parts of GET /v1/agent/self the platform reads; the embedded registry reports Version "embedded". */
export interface AgentSelf {
  Config: { Datacenter: string; NodeName: string; Version: string };
}
