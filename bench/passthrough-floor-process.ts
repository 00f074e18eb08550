// The least a node:http2 hop can do per call, as a yardstick for the router: headers copied,
// bytes piped both ways over one upstream session, trailers passed on; no routing, limits,
// retries, metrics or error handling. Forwards everything to BENCH_BACKEND_ADDR.
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { announceReady } from "./child-process";

const backend = process.env.BENCH_BACKEND_ADDR;
if (backend === undefined) throw new Error("BENCH_BACKEND_ADDR is not set");

const upstream = http2.connect(`http://${backend}`);
upstream.on("error", () => {});
const dropped = new Set([":scheme", "connection", "host"]);
const server = http2.createServer();
server.on("stream", (down, headers) => {
  const out: http2.OutgoingHttpHeaders = {};
  for (const name in headers) if (!dropped.has(name)) out[name] = headers[name];
  const up = upstream.request(out, { endStream: false });
  let trailers: http2.IncomingHttpHeaders = {};
  down.on("data", (chunk: Buffer) => up.write(chunk));
  down.on("end", () => up.end());
  down.on("error", () => {});
  up.on("response", (response) => {
    delete response.date;
    down.respond(response, { waitForTrailers: true });
  });
  up.on("trailers", (received) => {
    trailers = received;
  });
  up.on("data", (chunk: Buffer) => down.write(chunk));
  up.on("end", () => {
    down.once("wantTrailers", () => down.sendTrailers(trailers));
    down.end();
  });
  up.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => {
  announceReady({ address: `127.0.0.1:${(server.address() as AddressInfo).port}` });
});
process.once("SIGTERM", () => process.exit(0));
