// "Copy as" command lines for a call: curl (Connect protocol against the gateway's browser
// endpoint), buf curl and grpcurl (gRPC against the front door). buf curl and grpcurl read the
// schema by server reflection, so they run from any directory; the local proto/ is optional.
// Every form keeps the deadline.

export interface CallSpec {
  /** Full method path, e.g. "/agentplatform.v1.AgentService/ExecuteTask". */
  method: string;
  /** The request as protobuf JSON. */
  requestJson: string;
  metadata: Readonly<Record<string, string>>;
  /** 0 for none. */
  timeoutMs: number;
  streaming: boolean;
  /** Adds an Authorization header that reads the token from $AGENTPLATFORM_TOKEN. */
  withToken: boolean;
}

/** Quotes a word for POSIX shells: single quotes, with embedded ones closed and escaped. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_\-./:=@%+,]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

const tokenHeader = `"Authorization: Bearer $AGENTPLATFORM_TOKEN"`;

function compactJson(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json));
  } catch {
    return json;
  }
}

function headerArgs(spec: CallSpec): string[] {
  const args = Object.entries(spec.metadata).flatMap(([k, v]) => ["-H", shellQuote(`${k}: ${v}`)]);
  if (spec.withToken) args.push("-H", tokenHeader);
  return args;
}

/** The 5-byte Connect envelope prefix (flags 0, big-endian length) as printf octal escapes. */
export function envelopePrefix(byteLength: number): string {
  const bytes = [
    0,
    (byteLength >>> 24) & 255,
    (byteLength >>> 16) & 255,
    (byteLength >>> 8) & 255,
    byteLength & 255,
  ];
  return bytes.map((b) => `\\${b.toString(8).padStart(3, "0")}`).join("");
}

export function curlCommand(spec: CallSpec, gatewayUrl: string): string {
  const url = `${gatewayUrl.replace(/\/+$/, "")}${spec.method}`;
  const body = compactJson(spec.requestJson);
  const timeout =
    spec.timeoutMs > 0 ? ["-H", shellQuote(`Connect-Timeout-Ms: ${spec.timeoutMs}`)] : [];
  if (!spec.streaming) {
    return [
      "curl --fail-with-body -sS -X POST",
      shellQuote(url),
      "-H 'Content-Type: application/json'",
      "-H 'Connect-Protocol-Version: 1'",
      ...timeout,
      ...headerArgs(spec),
      "-d",
      shellQuote(body),
    ].join(" ");
  }
  // Streaming calls take one enveloped message; the answer is enveloped messages then trailers.
  const length = new TextEncoder().encode(body).length;
  return [
    `{ printf '${envelopePrefix(length)}'; printf '%s' ${shellQuote(body)}; }`,
    "| curl -sS -N --output - -X POST",
    shellQuote(url),
    "-H 'Content-Type: application/connect+json'",
    "-H 'Connect-Protocol-Version: 1'",
    ...timeout,
    ...headerArgs(spec),
    "--data-binary @-",
  ].join(" ");
}

function grpcPath(method: string): string {
  return method.replace(/^\//, "");
}

export interface SchemaOptions {
  /** Read the schema from the repository's proto/ (run from its root) instead of reflection. */
  localSchema?: boolean;
}

/** buf's --timeout bounds the command's context, which its client sends as grpc-timeout. */
function bufTimeout(timeoutMs: number): string[] {
  return timeoutMs > 0 ? [`--timeout ${Math.ceil(timeoutMs)}ms`] : [];
}

export function bufCurlCommand(
  spec: CallSpec,
  frontDoorAddress: string,
  options: SchemaOptions = {},
): string {
  return [
    "buf curl --protocol grpc --http2-prior-knowledge",
    ...(options.localSchema ? ["--schema proto"] : []),
    ...bufTimeout(spec.timeoutMs),
    ...headerArgs(spec),
    "-d",
    shellQuote(compactJson(spec.requestJson)),
    shellQuote(`http://${frontDoorAddress}/${grpcPath(spec.method)}`),
  ].join(" ");
}

export function grpcurlCommand(
  spec: CallSpec,
  frontDoorAddress: string,
  options: SchemaOptions = {},
): string {
  // grpcurl takes fractional seconds and sends them as the call's grpc-timeout.
  const maxTime = spec.timeoutMs > 0 ? [`-max-time ${spec.timeoutMs / 1000}`] : [];
  return [
    "grpcurl -plaintext",
    ...(options.localSchema
      ? [
          `-import-path proto -proto agentplatform/v1/${spec.method.startsWith("/agentplatform.v1.ExecService/") ? "exec" : "platform"}.proto`,
        ]
      : []),
    ...maxTime,
    ...headerArgs(spec),
    "-d",
    shellQuote(compactJson(spec.requestJson)),
    frontDoorAddress,
    grpcPath(spec.method),
  ].join(" ");
}
