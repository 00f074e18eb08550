// One log line per call: debug when it succeeds, info for errors the caller caused, warn for
// faults of the service itself, so a service's log shows what went wrong without a debugger.
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../platform/log";

const serviceFaults = new Set([Code.Internal, Code.Unknown, Code.DataLoss, Code.Unimplemented]);

export function callLogInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const method = `${req.service.typeName}/${req.method.name}`;
    const done = (err?: unknown) => {
      const ms = Math.round(performance.now() - started);
      if (err === undefined) {
        logger.debug("call", { method, code: "OK", ms });
        return;
      }
      const e = ConnectError.from(err);
      // The error itself: the log keeps its message, stack, cause and code.
      const fields = { method, code: Code[e.code], ms, err: err instanceof Error ? err : e };
      if (serviceFaults.has(e.code)) logger.warn("call failed", fields);
      else logger.info("call failed", fields);
    };
    try {
      const res = await next(req);
      if (!res.stream) {
        done();
        return res;
      }
      const source = res.message;
      async function* logged() {
        try {
          yield* source;
          done();
        } catch (err) {
          done(err);
          throw err;
        }
      }
      return { ...res, message: logged() };
    } catch (err) {
      done(err);
      throw err;
    }
  };
}
