import { ScalarType } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  TaskRequestSchema,
  TaskStatusResponseSchema,
  ToolRequestSchema,
} from "../gen/agentplatform/v1/platform_pb";
import {
  canonicalJson,
  emptyElement,
  fieldTypeLabel,
  parseRequestText,
  parseScalarInput,
  setField,
} from "./schema-form-model";

function field(schema: typeof TaskStatusResponseSchema | typeof TaskRequestSchema, name: string) {
  const f = schema.fields.find((x) => x.name === name);
  if (f === undefined) throw new Error(`no field ${name}`);
  return f;
}

describe("schema form model", () => {
  it("labels fields the way the .proto declares them", () => {
    expect(fieldTypeLabel(field(TaskRequestSchema, "parameters"))).toBe("map<string, string>");
    expect(fieldTypeLabel(field(TaskRequestSchema, "tool_ids"))).toBe("repeated string");
    expect(fieldTypeLabel(field(TaskStatusResponseSchema, "state"))).toBe("TaskState");
    expect(fieldTypeLabel(field(TaskStatusResponseSchema, "steps"))).toBe("repeated TaskStep");
    expect(fieldTypeLabel(field(TaskStatusResponseSchema, "created_at_ms"))).toBe("int64");
  });

  it("reads typed input as protobuf JSON values and rejects what the type cannot hold", () => {
    expect(parseScalarInput(ScalarType.UINT32, "42")).toEqual({ ok: true, value: 42 });
    expect(parseScalarInput(ScalarType.INT64, "9007199254740993")).toEqual({
      ok: true,
      value: "9007199254740993",
    });
    expect(parseScalarInput(ScalarType.UINT32, "-1")).toMatchObject({ ok: false });
    expect(parseScalarInput(ScalarType.INT32, "3000000000")).toMatchObject({ ok: false });
    expect(parseScalarInput(ScalarType.INT32, "1.5")).toMatchObject({ ok: false });
    expect(parseScalarInput(ScalarType.DOUBLE, "2.5")).toEqual({ ok: true, value: 2.5 });
    expect(parseScalarInput(ScalarType.STRING, "")).toEqual({ ok: true, value: undefined });
    expect(parseScalarInput(ScalarType.STRING, "  spaced ")).toEqual({
      ok: true,
      value: "  spaced ",
    });
  });

  it("builds a request with a map and a repeated field that the schema accepts", () => {
    let request = {};
    request = setField(request, field(TaskRequestSchema, "agent_id"), "echo-agent");
    request = setField(request, field(TaskRequestSchema, "parameters"), { count: "3" });
    request = setField(request, field(TaskRequestSchema, "tool_ids"), ["weather-tool"]);
    const json = canonicalJson(TaskRequestSchema, request);
    expect(json.ok).toBe(true);
    expect(json.ok && JSON.parse(json.value)).toEqual({
      agentId: "echo-agent",
      parameters: { count: "3" },
      toolIds: ["weather-tool"],
    });
  });

  it("accepts proto names in the JSON editor and the form then replaces them", () => {
    const parsed = parseRequestText(ToolRequestSchema, '{"tool_id": "weather-tool"}');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const updated = setField(parsed.value, field(TaskRequestSchema, "agent_id"), "x");
    expect(updated).toEqual({ tool_id: "weather-tool", agentId: "x" });
  });

  it("explains JSON the schema rejects", () => {
    const wrongType = parseRequestText(TaskRequestSchema, '{"toolIds": "not-a-list"}');
    expect(wrongType.ok).toBe(false);
    expect(!wrongType.ok && wrongType.error).toMatch(/toolIds|tool_ids/);
    expect(parseRequestText(TaskRequestSchema, "[1]")).toMatchObject({ ok: false });
    expect(parseRequestText(TaskRequestSchema, "{")).toMatchObject({ ok: false });
  });

  it("adds list elements of the element type", () => {
    expect(emptyElement(field(TaskRequestSchema, "tool_ids"))).toBe("");
    expect(emptyElement(field(TaskStatusResponseSchema, "steps"))).toEqual({});
  });
});
