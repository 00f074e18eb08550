import { describe, expect, it } from "vitest";
import { messagePreview } from "./message-list";

describe("message preview", () => {
  it("leads with what a streamed message says, then names the other fields", () => {
    const json = JSON.stringify({ taskId: "t-1", output: "streamed", progress: 37, sequence: 2 });
    expect(messagePreview(json)).toBe("output: streamed  ·  progress: 37  ·  {taskId, sequence}");
  });

  it("shows other messages as they came", () => {
    expect(messagePreview('{"agents":[]}')).toBe('{"agents":[]}');
    expect(messagePreview("not json")).toBe("not json");
  });
});
