import { create, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { TaskRequestSchema, ToolRequestSchema } from "../../gen/agentplatform/v1/platform_pb";
import { encodeGrpcMessage } from "./grpc-status";
import { formatGrpcTimeout, parseGrpcTimeout } from "./grpc-timeout";
import { readStringField, WireFormatError } from "./protobuf-wire";

describe("readStringField", () => {
  it("finds the routing field among maps, repeated fields and unknown numbers", () => {
    const bytes = toBinary(
      TaskRequestSchema,
      create(TaskRequestSchema, {
        taskId: "t-1",
        agentId: "echo-agent",
        input: "ünïcode input",
        parameters: { a: "1", b: "2" },
        toolIds: ["weather-tool", "x"],
      }),
    );
    expect(readStringField(bytes, 2)).toBe("echo-agent");
    expect(readStringField(bytes, 3)).toBe("ünïcode input");
    // Varint, 64-bit and 32-bit fields before the target are skipped.
    const mixed = Buffer.from([0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1d, 1, 2, 3, 4]);
    const tool = toBinary(ToolRequestSchema, create(ToolRequestSchema, { toolId: "weather-tool" }));
    expect(readStringField(Buffer.concat([mixed, tool]), 2)).toBe("weather-tool");
  });

  it("returns empty for an absent field and rejects malformed bytes", () => {
    expect(readStringField(new Uint8Array(), 2)).toBe("");
    expect(() => readStringField(Uint8Array.from([0x12, 10, 0x61]), 2)).toThrow(WireFormatError);
    expect(() => readStringField(Uint8Array.from([0x12, 0x80]), 2)).toThrow(WireFormatError);
    expect(() => readStringField(Uint8Array.from([0x0b]), 2)).toThrow(/group/);
    expect(() => readStringField(Uint8Array.from([0x12, 1, 0xff]), 2)).toThrow(/UTF-8/);
  });
});

describe("gRPC header values", () => {
  it("parses and formats grpc-timeout without shortening it", () => {
    expect(parseGrpcTimeout("250m")).toBe(250);
    expect(parseGrpcTimeout("2S")).toBe(2000);
    expect(parseGrpcTimeout("1H")).toBe(3_600_000);
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    expect(parseGrpcTimeout("soon")).toBeNaN();
    expect(parseGrpcTimeout("123456789m")).toBeNaN();
    for (const ms of [0.5, 99.2, 1234.5, 5e8]) {
      expect(parseGrpcTimeout(formatGrpcTimeout(ms))).toBeGreaterThanOrEqual(ms);
    }
  });

  it("percent-encodes grpc-message", () => {
    expect(encodeGrpcMessage("plain text")).toBe("plain text");
    expect(encodeGrpcMessage("50% done\nnext: ü")).toBe("50%25 done%0Anext: %C3%BC");
  });
});
