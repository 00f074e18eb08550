// Type guards for protobuf-es method descriptors, whose methodKind does not narrow by itself.
import type { DescMethod, DescMethodServerStreaming, DescMethodUnary } from "@bufbuild/protobuf";

export const isUnary = (method: DescMethod): method is DescMethodUnary =>
  method.methodKind === "unary";

export const isServerStreaming = (method: DescMethod): method is DescMethodServerStreaming =>
  method.methodKind === "server_streaming";
