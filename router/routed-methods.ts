// The calls a router forwards, what kind of service each goes to, and which request field
// names the target. Everything else on the router is answered by the router itself.

export type ServiceKind = "agent" | "tool" | "worker";

export interface RoutedMethod {
  /** Full path, e.g. "/agentplatform.v1.AgentService/ExecuteTask". */
  path: string;
  kind: ServiceKind;
  /** Request field holding the client id (field 2 in every forwarded request). */
  targetField: number;
  /** The name of that field, for error messages. */
  targetFieldName: string;
  /** Safe to run twice (idempotency_level in the proto): may be retried after it was sent. */
  idempotent: boolean;
  /** Agent calls a dial-in agent linked to this router can take ("exec": ExecService). */
  linked?: "unary" | "stream" | "exec";
}

const methods: RoutedMethod[] = [
  {
    path: "/agentplatform.v1.AgentService/ExecuteTask",
    kind: "agent",
    targetField: 2,
    targetFieldName: "agent_id",
    idempotent: false,
    linked: "unary",
  },
  {
    path: "/agentplatform.v1.AgentService/StreamTask",
    kind: "agent",
    targetField: 2,
    targetFieldName: "agent_id",
    idempotent: false,
    linked: "stream",
  },
  {
    path: "/agentplatform.v1.ExecService/Exec",
    kind: "agent",
    targetField: 2,
    targetFieldName: "agent_id",
    idempotent: false,
    linked: "exec",
  },
  {
    path: "/agentplatform.v1.ToolService/ExecuteTool",
    kind: "tool",
    targetField: 2,
    targetFieldName: "tool_id",
    idempotent: false,
  },
  {
    path: "/agentplatform.v1.TaskWorker/ProcessTask",
    kind: "worker",
    targetField: 2,
    targetFieldName: "agent_id",
    idempotent: false,
  },
  {
    path: "/agentplatform.v1.TaskWorker/GetTaskStatus",
    kind: "worker",
    targetField: 2,
    targetFieldName: "worker_id",
    idempotent: true,
  },
  {
    path: "/agentplatform.v1.TaskWorker/CancelTask",
    kind: "worker",
    targetField: 2,
    targetFieldName: "worker_id",
    idempotent: true,
  },
  {
    path: "/agentplatform.v1.TaskWorker/ListTasks",
    kind: "worker",
    targetField: 2,
    targetFieldName: "worker_id",
    idempotent: true,
  },
];

export const routedMethods: ReadonlyMap<string, RoutedMethod> = new Map(
  methods.map((m) => [m.path, m]),
);

const kinds: readonly ServiceKind[] = ["agent", "tool", "worker"];

/**
 * Registry service name for a client id: "echo-agent" → "agent-echo". The service name itself
 * ("agent-echo") and a bare name ("echo") are accepted too.
 */
export function serviceNameFor(clientId: string, kind: ServiceKind): string {
  if (clientId.startsWith(`${kind}-`)) return clientId;
  const suffix = `-${kind}`;
  const name = clientId.endsWith(suffix) ? clientId.slice(0, -suffix.length) : clientId;
  return `${kind}-${name}`;
}

/** The client id a service is known by: "agent-echo" → "echo-agent". */
export function clientIdFor(service: string, kind: ServiceKind): string {
  const prefix = `${kind}-`;
  return service.startsWith(prefix) ? `${service.slice(prefix.length)}-${kind}` : service;
}

/** The kind a client id or service name names, when it says so ("echo-agent", "tool-weather"). */
export function kindOf(target: string): ServiceKind | undefined {
  return kinds.find((k) => target.endsWith(`-${k}`) || target.startsWith(`${k}-`));
}
