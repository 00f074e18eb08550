// AgentService, ToolService and TaskWorker on the browser endpoint, forwarded to the routers.
// Browsers speak gRPC-Web or Connect, so messages are decoded and re-encoded here; gRPC clients
// that want the fast path use the front door.
import type { ConnectRouter, HandlerContext, Transport } from "@connectrpc/connect";
import { createAsyncIterable } from "@connectrpc/connect/protocol";
import { forwardedServices } from "./access-policy";
import { peerKey } from "./caller";
import { forwardedRequestHeaders, isHopHeader } from "./forwarded-headers";
import { isServerStreaming, isUnary } from "./method-kind";

export interface PlatformForwardingOptions {
  transport: Transport;
}

const upstreamHeadersFor = (ctx: HandlerContext): Headers =>
  forwardedRequestHeaders(ctx.requestHeader, ctx.values.get(peerKey));

function copyCustom(from: Headers, to: Headers) {
  from.forEach((value, name) => {
    if (!isHopHeader(name)) to.set(name, value);
  });
}

export function platformForwardingRoutes(
  options: PlatformForwardingOptions,
): (router: ConnectRouter) => void {
  const { transport } = options;
  return (router) => {
    for (const service of forwardedServices) {
      for (const method of service.methods) {
        if (isUnary(method)) {
          router.rpc(method, async (req, ctx) => {
            const res = await transport.unary(
              method,
              ctx.signal,
              ctx.timeoutMs(),
              upstreamHeadersFor(ctx),
              req,
            );
            copyCustom(res.header, ctx.responseHeader);
            copyCustom(res.trailer, ctx.responseTrailer);
            return res.message;
          });
        } else if (isServerStreaming(method)) {
          router.rpc(method, async function* (req, ctx) {
            const res = await transport.stream(
              method,
              ctx.signal,
              ctx.timeoutMs(),
              upstreamHeadersFor(ctx),
              createAsyncIterable([req]),
            );
            copyCustom(res.header, ctx.responseHeader);
            yield* res.message;
            copyCustom(res.trailer, ctx.responseTrailer);
          });
        }
      }
    }
  };
}
