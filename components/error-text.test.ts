import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { codeFromName, codeName, describeError } from "./error-text";

describe("error text", () => {
  it("names codes the way gRPC writes them and reads them back", () => {
    expect(codeName(Code.PermissionDenied)).toBe("PERMISSION_DENIED");
    expect(codeName(Code.Unavailable)).toBe("UNAVAILABLE");
    expect(codeName(Code.Canceled)).toBe("CANCELLED");
    expect(codeFromName("CANCELLED")).toBe(Code.Canceled);
    expect(codeFromName("DEADLINE_EXCEEDED")).toBe(Code.DeadlineExceeded);
    expect(codeFromName("NOT_A_CODE")).toBe(Code.Unknown);
  });

  it("tells an unreachable gateway apart from a service with no healthy instance", () => {
    expect(describeError(new ConnectError("Failed to fetch", Code.Unavailable)).title).toMatch(
      /gateway cannot be reached/,
    );
    expect(
      describeError(new ConnectError("no healthy instance of agent-echo", Code.Unavailable)).title,
    ).toMatch(/No healthy instance/);
  });
});
