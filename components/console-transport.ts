// The one transport the console uses: Connect protocol to the gateway, with the operator's token.
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";

export interface ConsoleTransportOptions {
  /** The gateway's browser endpoint, e.g. "http://localhost:8080". */
  baseUrl: string;
  /** Returns the bearer token to send, or undefined when signed out. Read on every call. */
  getToken: () => string | undefined;
}

/** Adds `Authorization: Bearer <token>` when the operator has signed in. */
export function createAuthInterceptor(getToken: () => string | undefined): Interceptor {
  return (next) => async (req) => {
    const token = getToken();
    if (token !== undefined && token !== "") {
      req.header.set("Authorization", `Bearer ${token}`);
    }
    return next(req);
  };
}

export function createConsoleTransport(options: ConsoleTransportOptions): Transport {
  return createConnectTransport({
    baseUrl: options.baseUrl,
    // Binary keeps 10,000-message streams cheap to decode; the JSON payloads ride inside.
    useBinaryFormat: true,
    interceptors: [createAuthInterceptor(options.getToken)],
  });
}
