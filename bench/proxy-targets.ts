// Reference hops for the benchmark: nginx grpc_pass and HAProxy in HTTP/2 mode, each one
// process with one worker thread (like a router), configured in a scratch directory.
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { type Child, findCommand, startNativeChild } from "./child-process";

export interface ProxyTarget {
  child: Child;
  port: number;
}

/** A free loopback port (the small race before the proxy binds it is acceptable here). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startNginx(dir: string, backend: string): Promise<ProxyTarget | string> {
  const nginx = findCommand("nginx");
  if (nginx === undefined) return "nginx is not installed (Debian package nginx)";
  const port = await freePort();
  const root = join(dir, "nginx");
  mkdirSync(join(root, "temp"), { recursive: true });
  const config = `
daemon off;
master_process off;
worker_processes 1;
pid ${root}/nginx.pid;
error_log ${root}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${root}/temp/body;
  proxy_temp_path ${root}/temp/proxy;
  fastcgi_temp_path ${root}/temp/fastcgi;
  uwsgi_temp_path ${root}/temp/uwsgi;
  scgi_temp_path ${root}/temp/scgi;
  # nginx closes a connection after 1000 requests by default (GOAWAY mid-run); the router
  # and HAProxy keep theirs, so nginx does too here.
  keepalive_requests 1000000;
  keepalive_timeout 300s;
  upstream echo {
    server ${backend};
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:${port} http2;
    http2_max_concurrent_streams 1000;
    location / {
      grpc_pass grpc://echo;
    }
  }
}
`;
  const file = join(root, "nginx.conf");
  writeFileSync(file, config);
  const child = await startNativeChild(
    "nginx",
    nginx,
    ["-p", root, "-e", join(root, "error.log"), "-c", file],
    port,
  );
  return { child, port };
}

export async function startHaproxy(dir: string, backend: string): Promise<ProxyTarget | string> {
  const haproxy = findCommand("haproxy");
  if (haproxy === undefined) return "haproxy is not installed (Debian package haproxy)";
  const port = await freePort();
  const config = `
global
  nbthread 1
  maxconn 4000

defaults
  mode http
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  http-reuse always

frontend grpc_in
  bind 127.0.0.1:${port} proto h2
  default_backend echo

backend echo
  server echo1 ${backend} proto h2
`;
  const file = join(dir, "haproxy.cfg");
  writeFileSync(file, config);
  const child = await startNativeChild("haproxy", haproxy, ["-db", "-f", file], port);
  return { child, port };
}
