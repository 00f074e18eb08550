import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { createLogger } from "./log";

function capture(json: boolean, level: "debug" | "info" = "info") {
  const lines: string[] = [];
  const log = createLogger("test", { json, level, write: (line) => lines.push(line) });
  return { log, lines };
}

describe("createLogger", () => {
  it("keeps an error's message, stack, gRPC code and cause chain in JSON", () => {
    const { log, lines } = capture(true);
    const root = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), {
      code: "ECONNREFUSED",
    });
    const err = new ConnectError(
      "upstream unreachable",
      Code.Unavailable,
      undefined,
      undefined,
      root,
    );
    log.error("forwarding failed", { err, method: "/a/B" });
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0] ?? "");
    expect(record).toMatchObject({
      level: "error",
      component: "test",
      message: "forwarding failed",
      method: "/a/B",
      err: {
        type: "ConnectError",
        message: "upstream unreachable",
        grpc_code: "Unavailable",
        cause: { type: "Error", message: "connect ECONNREFUSED 127.0.0.1:1", code: "ECONNREFUSED" },
      },
    });
    expect(record.err.stack).toContain("log.test.ts");
    expect(record.err.cause.stack).toContain("log.test.ts");
    expect(Date.parse(record.time)).not.toBeNaN();
  });

  it("prints the stack and the cause below the line in text", () => {
    const { log, lines } = capture(false);
    log.warn("shutdown failed", {
      err: new Error("outer", { cause: new Error("inner") }),
      signal: "SIGTERM",
    });
    const text = lines.join("\n");
    expect(text).toMatch(/^warn {2}shutdown failed err=outer signal=SIGTERM\n/);
    expect(text).toContain("    Error: outer\n        at ");
    expect(text).toContain("    caused by:\n    Error: inner");
  });

  it("redacts credentials at the top level and one object down", () => {
    const { log, lines } = capture(true);
    log.info("request", {
      authorization: "Bearer abc.def.ghi",
      headers: { authorization: "Bearer secret-1", "content-type": "application/grpc" },
      token: "t0ken",
    });
    const line = lines[0] ?? "";
    expect(line).not.toContain("abc.def.ghi");
    expect(line).not.toContain("secret-1");
    expect(line).not.toContain("t0ken");
    expect(JSON.parse(line).headers["content-type"]).toBe("application/grpc");
  });

  it("writes nothing below its level and carries child fields", () => {
    const { log, lines } = capture(true);
    log.debug("hidden");
    log.child({ router_id: "r1" }).info("shown", { n: 1 });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ router_id: "r1", n: 1, message: "shown" });
  });
});
