// Binds a server and reports the port it got, failing (instead of emitting) when the bind fails.
import type { AddressInfo, Server } from "node:net";

/** Listens on host:port (0 picks a free port) and resolves with the bound port. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** host:port as a dialable address, with IPv6 hosts in brackets. */
export function joinHostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Listens on a Unix socket path; resolves with 0 (there is no port). */
export function listenOnPath(server: Server, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => {
      server.off("error", reject);
      resolve(0);
    });
  });
}
