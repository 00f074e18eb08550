// Makes a local CA and the certificates for TLS/mTLS on every gRPC hop, with the openssl CLI:
//   certs/ca.pem, ca.key        the CA every component trusts (GRPC_TLS_CA_PATH)
//   certs/node.pem, node.key    serverAuth + clientAuth: each platform process serves with it and
//                               presents it when it dials the next hop (GRPC_TLS_CERT_PATH/KEY_PATH)
//   certs/client.pem, client.key clientAuth only: for gRPC clients calling the front door
// Usage: npx tsx scripts/make-certs.ts [--dir certs] [--days 825] [--san extra.name] [--force]
// Subject alternative names: localhost, 127.0.0.1, ::1, the Compose service names, plus --san
// values and CERT_EXTRA_SANS (comma-separated).
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

export interface MakeCertsOptions {
  /** Output folder. Default certs/ in the repository. */
  dir?: string;
  /** Validity in days. Default 825 (the longest browsers accept for a leaf). */
  days?: number;
  /** Extra DNS names or IP addresses for node.pem. Default none. */
  extraSans?: string[];
  /** Replace existing files. Default false: an existing CA is kept and reused. */
  force?: boolean;
}

export interface CertPaths {
  dir: string;
  ca: string;
  caKey: string;
  nodeCert: string;
  nodeKey: string;
  clientCert: string;
  clientKey: string;
}

/** Names the containers of docker-compose.yml dial each other by. */
export const composeNames = [
  "router",
  "gateway",
  "echo-agent",
  "weather-tool",
  "itinerary-worker",
  "nat-agent",
  "envoy",
  "haproxy",
];

const root = resolve(new URL("..", import.meta.url).pathname);

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`openssl ${args[0]} failed: ${stderr || (err as Error).message}`);
  }
}

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
  days: number,
): void {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `${extensions.join("\n")}\n`);
  try {
    openssl(
      ["req", "-new", ...ecKey, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", subject],
      dir,
    );
    openssl(
      [
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        String(days),
        "-sha256",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.pem`,
      ],
      dir,
    );
  } finally {
    rmSync(ext, { force: true });
    rmSync(join(dir, `${name}.csr`), { force: true });
  }
  chmodSync(join(dir, `${name}.key`), 0o600);
}

export function makeCerts(options: MakeCertsOptions = {}): CertPaths {
  const dir = resolve(options.dir ?? join(root, "certs"));
  const days = options.days ?? 825;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const paths: CertPaths = {
    dir,
    ca: join(dir, "ca.pem"),
    caKey: join(dir, "ca.key"),
    nodeCert: join(dir, "node.pem"),
    nodeKey: join(dir, "node.key"),
    clientCert: join(dir, "client.pem"),
    clientKey: join(dir, "client.key"),
  };

  if (options.force || !existsSync(paths.ca) || !existsSync(paths.caKey)) {
    openssl(
      [
        "req",
        "-x509",
        ...ecKey,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        String(days + 365),
        "-sha256",
        "-subj",
        "/O=agent-platform/CN=agent-platform local CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ],
      dir,
    );
    chmodSync(paths.caKey, 0o600);
  }

  const names = ["localhost", "127.0.0.1", "::1", ...composeNames, ...(options.extraSans ?? [])];
  const san = [...new Set(names)].map((n) => (isIP(n) !== 0 ? `IP:${n}` : `DNS:${n}`)).join(",");
  const leaf = ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature"];
  issue(
    dir,
    "node",
    "/O=agent-platform/CN=agent-platform node",
    [...leaf, "extendedKeyUsage=serverAuth,clientAuth", `subjectAltName=${san}`],
    days,
  );
  issue(
    dir,
    "client",
    "/O=agent-platform/CN=agent-platform client",
    [...leaf, "extendedKeyUsage=clientAuth"],
    days,
  );
  return paths;
}

function parseArgs(argv: string[]): MakeCertsOptions {
  const options: MakeCertsOptions = { extraSans: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--dir") options.dir = value();
    else if (arg === "--days") options.days = Number(value());
    else if (arg === "--san") options.extraSans?.push(value());
    else if (arg === "--force") options.force = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (options.days !== undefined && !(Number.isInteger(options.days) && options.days > 0)) {
    throw new Error("--days must be a whole number of days");
  }
  const extra = (process.env.CERT_EXTRA_SANS ?? "").split(",").map((s) => s.trim());
  options.extraSans?.push(...extra.filter(Boolean));
  return options;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const paths = makeCerts(parseArgs(process.argv.slice(2)));
    process.stdout.write(
      [
        `Certificates written to ${paths.dir}`,
        `  GRPC_TLS_ENABLED=true`,
        `  GRPC_TLS_CA_PATH=${paths.ca}`,
        `  GRPC_TLS_CERT_PATH=${paths.nodeCert}`,
        `  GRPC_TLS_KEY_PATH=${paths.nodeKey}`,
        `  client certificate: ${paths.clientCert} (key ${paths.clientKey})`,
        "",
      ].join("\n"),
    );
  } catch (err) {
    process.stderr.write(`make-certs: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
