// Docker is not available on this machine: these tests read docker-compose.yml, the TLS overlay,
// the Dockerfile and the configs they mount, and check them against the repository.
import { accessSync, constants, existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { composeNames } from "../scripts/make-certs";

const root = new URL("../", import.meta.url);
const text = (path: string) => readFileSync(new URL(path, root), "utf8");

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  container_name?: string;
  healthcheck?: { test: string[] };
  profiles?: string[];
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(text("docker-compose.yml"), { merge: true }) as ComposeFile;
const tlsOverlay = parse(text("docker-compose.tls.yml"), { merge: true }) as ComposeFile;
const service = (name: string): ComposeService => {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
};
const ours = Object.entries(compose.services).filter(([, s]) => s.build !== undefined);

/** Paths the runtime stage of the Dockerfile copies into /app. */
function runtimeCopies(): string[] {
  const stages = text("Dockerfile").split(/^FROM /m);
  const runtime = stages.at(-1) ?? "";
  return [...runtime.matchAll(/^COPY --from=build (.+?) \S+$/gm)].flatMap((m) =>
    (m[1] ?? "").split(" ").map((p) => p.replace(/^\/app\//, "")),
  );
}

/** The repository file a container command runs: a .ts entry or a script path. */
function scriptOf(command: string[]): string | undefined {
  return command.find((arg) => /\.(ts|sh|js)$/.test(arg) || arg.startsWith("node_modules/"));
}

/**
 * The source behind a command's file: dist/x/main.js is compiled from x/main.ts, which must be an
 * entry point of scripts/build.mjs; any other file is its own source.
 */
function sourceOf(script: string): string {
  const compiled = /^dist\/(.+)\.js$/.exec(script);
  if (!compiled) return script;
  const source = `${compiled[1]}.ts`;
  expect(text("scripts/build.mjs"), `${source} is built to ${script}`).toContain(`"${source}"`);
  return source;
}

describe("docker-compose.yml", () => {
  it("runs Consul, Envoy, routers, the four services, the gateway and the console", () => {
    expect(service("consul").image).toMatch(/^hashicorp\/consul:/);
    expect(service("consul").command).toEqual(["agent", "-dev", "-client", "0.0.0.0", "-ui"]);
    expect(service("envoy").image).toMatch(/^envoyproxy\/envoy:/);
    for (const name of [
      "router",
      "echo-agent",
      "weather-tool",
      "itinerary-worker",
      "nat-agent",
      "gateway",
      "console",
    ]) {
      expect(service(name).build).toBe(".");
    }
  });

  it("gives every container of the image a command whose file exists here and in the image", () => {
    const copied = runtimeCopies();
    const inImage = (path: string) =>
      copied.some((c) => path === c || path.startsWith(`${c.replace(/\/$/, "")}/`));
    expect(ours.length).toBeGreaterThanOrEqual(8);
    for (const [name, s] of ours) {
      const script = scriptOf(s.command ?? []);
      expect(script, `${name} command`).toBeDefined();
      if (!script) continue;
      const source = sourceOf(script);
      expect(existsSync(new URL(source, root)), `${name}: ${source} exists`).toBe(true);
      expect(inImage(script), `${name}: ${script} is copied into the image`).toBe(true);
      const check = scriptOf(s.healthcheck?.test ?? []);
      if (check) {
        const checkSource = sourceOf(check);
        expect(existsSync(new URL(checkSource, root)), `${name}: ${checkSource} exists`).toBe(true);
        expect(inImage(check), `${name}: ${check} is copied into the image`).toBe(true);
      }
    }
    const entrypoint = /^ENTRYPOINT \["\/app\/(.+?)"\]/m.exec(text("Dockerfile"))?.[1] ?? "";
    expect(inImage(entrypoint)).toBe(true);
    accessSync(new URL(entrypoint, root), constants.X_OK);
  });

  it("scales routers: replicas 3, no fixed name or host port, found by service name", () => {
    const router = service("router");
    expect(router.deploy?.replicas).toBe(3);
    expect(router.container_name).toBeUndefined();
    expect(router.ports).toBeUndefined();
    const port = Number(router.environment?.GRPC_SERVER_PORT);
    const envoy = parse(text("envoy/envoy.yaml")) as {
      static_resources: { clusters: { name: string; load_assignment: unknown }[] };
    };
    const addressOf = (cluster: string) => {
      const found = envoy.static_resources.clusters.find((c) => c.name === cluster);
      return JSON.stringify(found?.load_assignment);
    };
    expect(addressOf("routers")).toContain(`"address":"router","port_value":${port}`);
    expect(text("haproxy/haproxy.cfg")).toMatch(
      new RegExp(`^\\s+server-template router \\d+ router:${port} `, "m"),
    );
    const gatewayPort = Number(service("gateway").environment?.GATEWAY_HTTP_PORT);
    expect(addressOf("gateway")).toContain(`"address":"gateway","port_value":${gatewayPort}`);
  });

  it("runs two itinerary workers sharing their jobs through the postgres service", () => {
    const worker = service("itinerary-worker");
    expect(worker.deploy?.replicas).toBe(2);
    expect(worker.depends_on?.postgres?.condition).toBe("service_healthy");
    const url = new URL(
      (worker.environment?.DATABASE_URL ?? "").replace(/\$\{POSTGRES_PASSWORD:-(\w+)\}/, "$1"),
    );
    const db = service("postgres");
    expect(url.protocol).toBe("postgres:");
    expect(url.hostname).toBe("postgres");
    expect(url.pathname).toBe(`/${db.environment?.POSTGRES_DB}`);
    expect(url.username).toBe(db.environment?.POSTGRES_USER);
    expect(db.image).toMatch(/^postgres:\d+/);
    expect(db.healthcheck?.test).toContain("pg_isready");
  });

  it("mounts configs that exist and depends only on defined services", () => {
    for (const [name, s] of Object.entries(compose.services)) {
      for (const dep of Object.keys(s.depends_on ?? {})) {
        expect(compose.services[dep], `${name} depends on ${dep}`).toBeDefined();
      }
      for (const volume of s.volumes ?? []) {
        const source = volume.split(":")[0] ?? "";
        if (source.startsWith("./")) expect(existsSync(new URL(source, root)), volume).toBe(true);
        else expect(compose.volumes?.[source], volume).toBeDefined();
      }
    }
    expect(service("envoy").volumes).toContain("./envoy/envoy.yaml:/etc/envoy/envoy.yaml:ro");
  });

  it("publishes the documented ports, with Consul and Envoy admin on loopback only", () => {
    expect(service("envoy").ports).toEqual(["50051:50051", "8080:8080", "127.0.0.1:9901:9901"]);
    expect(service("consul").ports).toEqual(["127.0.0.1:8500:8500"]);
    expect(service("console").ports).toEqual(["3000:3000"]);
    expect(service("haproxy").profiles).toEqual(["haproxy"]);
  });
});

describe("docker-compose.tls.yml", () => {
  it("turns on TLS for every gRPC process and advertises names the node certificate holds", () => {
    for (const name of [
      "router",
      "echo-agent",
      "weather-tool",
      "itinerary-worker",
      "nat-agent",
      "gateway",
    ]) {
      const env = tlsOverlay.services[name]?.environment ?? {};
      expect(env.GRPC_TLS_ENABLED, name).toBe("true");
      expect(env.GRPC_TLS_CA_PATH, name).toBe("/certs/ca.pem");
      const advertised = env.SERVICE_ADVERTISE_ADDRESS ?? env.ROUTER_ADVERTISE_ADDRESS;
      if (advertised !== undefined) expect(composeNames).toContain(advertised);
      expect(compose.services[name], `${name} exists in the base file`).toBeDefined();
    }
    expect(tlsOverlay.services.router?.environment?.ROUTER_UPSTREAM_TLS).toBe("true");
    expect(tlsOverlay.services.envoy?.volumes).toContain(
      "./envoy/envoy-tls.yaml:/etc/envoy/envoy.yaml:ro",
    );
    expect(tlsOverlay.services.consul?.command?.join(" ")).toContain(
      "enable_agent_tls_for_checks = true",
    );
  });
});

describe("Dockerfile", () => {
  it("builds in stages (npm ci, next build) and runs as a non-root user on a slim base", () => {
    const dockerfile = text("Dockerfile");
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile).toMatch(/^RUN npm ci\b/m);
    expect(dockerfile).toMatch(/next build/);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    const runtime = stages.at(-1) ?? "";
    expect(runtime).toMatch(/^node:\d+-\S*slim AS runtime/);
    expect(runtime).toMatch(/^USER node$/m);
    // Compiled servers only: no TypeScript sources and no tsx at run time.
    expect(dockerfile).toMatch(/node scripts\/build\.mjs/);
    expect(runtime).not.toMatch(/tsx/);
    expect(
      runtimeCopies().filter((c) => /^(platform|router|gateway|services|registry)\b/.test(c)),
    ).toEqual([]);
    expect(compose.services.router?.command).toEqual([
      "node",
      "--enable-source-maps",
      "dist/router/main.js",
    ]);
  });

  it("keeps dependencies, builds, secrets and local state out of the build context", () => {
    const ignored = text(".dockerignore").split("\n");
    for (const entry of ["node_modules", ".next", "dist", ".git", "certs", ".data", ".env"]) {
      expect(ignored).toContain(entry);
    }
  });
});
