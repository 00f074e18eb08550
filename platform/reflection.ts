// gRPC server reflection (grpc.reflection.v1 and v1alpha) from the generated file descriptors, so
// grpcurl and grpcui can list, describe and call a server's services without .proto files.
import {
  create,
  type DescFile,
  type DescMessage,
  type DescService,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "../gen/grpc/health/v1/health_pb";
import {
  ServerReflectionResponseSchema as ResponseV1,
  ServerReflection as ServerReflectionV1,
} from "../gen/grpc/reflection/v1/reflection_pb";
import {
  ServerReflectionResponseSchema as ResponseV1Alpha,
  ServerReflection as ServerReflectionV1Alpha,
} from "../gen/grpc/reflection/v1alpha/reflection_pb";

/** The request oneof, identical in v1 and v1alpha. */
type ReflectionQuery =
  | { case: "fileByFilename"; value: string }
  | { case: "fileContainingSymbol"; value: string }
  | { case: "fileContainingExtension"; value: { containingType: string; extensionNumber: number } }
  | { case: "allExtensionNumbersOfType"; value: string }
  | { case: "listServices"; value: string }
  | { case: undefined; value?: undefined };

/** The response oneof, identical in v1 and v1alpha. */
type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | {
      case: "allExtensionNumbersResponse";
      value: { baseTypeName: string; extensionNumber: number[] };
    }
  | { case: "listServicesResponse"; value: { service: { name: string }[] } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

const codeNotFound = 5;
const codeInvalidArgument = 3;

export interface ReflectionIndex {
  /** Fully qualified names of the services the server offers. */
  services(): string[];
  answer(query: ReflectionQuery): ReflectionAnswer;
}

/** Indexes the files defining `services`, and every file they import. */
export function createReflectionIndex(services: readonly DescService[]): ReflectionIndex {
  const listed = [
    ...new Set(
      [...services, Health, ServerReflectionV1, ServerReflectionV1Alpha].map((s) => s.typeName),
    ),
  ].sort();
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensionsOf = new Map<string, Map<number, DescFile>>();

  const addMessage = (file: DescFile, message: DescMessage) => {
    symbols.set(message.typeName, file);
    for (const e of message.nestedEnums) symbols.set(e.typeName, file);
    for (const m of message.nestedMessages) addMessage(file, m);
    for (const x of message.nestedExtensions)
      addExtension(file, x.typeName, x.extendee.typeName, x.number);
  };
  const addExtension = (file: DescFile, name: string, extendee: string, no: number) => {
    symbols.set(name, file);
    const byNumber = extensionsOf.get(extendee) ?? new Map<number, DescFile>();
    byNumber.set(no, file);
    extensionsOf.set(extendee, byNumber);
  };
  const addFile = (file: DescFile) => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dep of file.dependencies) addFile(dep);
    for (const m of file.messages) addMessage(file, m);
    for (const e of file.enums) symbols.set(e.typeName, file);
    for (const x of file.extensions) addExtension(file, x.typeName, x.extendee.typeName, x.number);
    for (const s of file.services) {
      symbols.set(s.typeName, file);
      for (const m of s.methods) symbols.set(`${s.typeName}.${m.name}`, file);
    }
  };
  for (const s of [...services, Health, ServerReflectionV1, ServerReflectionV1Alpha])
    addFile(s.file);

  /** A file and everything it imports, the file first: clients need the whole closure to decode. */
  const withDependencies = (file: DescFile): Uint8Array[] => {
    const seen = new Set<string>();
    const out: Uint8Array[] = [];
    const visit = (f: DescFile) => {
      if (seen.has(f.proto.name)) return;
      seen.add(f.proto.name);
      out.push(toBinary(FileDescriptorProtoSchema, f.proto));
      for (const dep of f.dependencies) visit(dep);
    };
    visit(file);
    return out;
  };
  const fileAnswer = (file: DescFile | undefined, what: string): ReflectionAnswer =>
    file
      ? { case: "fileDescriptorResponse", value: { fileDescriptorProto: withDependencies(file) } }
      : {
          case: "errorResponse",
          value: { errorCode: codeNotFound, errorMessage: `${what} not found` },
        };

  return {
    services: () => listed,
    answer(query) {
      switch (query.case) {
        case "listServices":
          return {
            case: "listServicesResponse",
            value: { service: listed.map((name) => ({ name })) },
          };
        case "fileByFilename":
          return fileAnswer(files.get(query.value), `file "${query.value}"`);
        case "fileContainingSymbol":
          return fileAnswer(symbols.get(query.value.replace(/^\./, "")), `symbol "${query.value}"`);
        case "fileContainingExtension": {
          const { containingType, extensionNumber } = query.value;
          return fileAnswer(
            extensionsOf.get(containingType)?.get(extensionNumber),
            `extension ${extensionNumber} of "${containingType}"`,
          );
        }
        case "allExtensionNumbersOfType": {
          if (!symbols.has(query.value)) {
            return fileAnswer(undefined, `type "${query.value}"`);
          }
          const numbers = [...(extensionsOf.get(query.value)?.keys() ?? [])].sort((a, b) => a - b);
          return {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: query.value, extensionNumber: numbers },
          };
        }
        default:
          return {
            case: "errorResponse",
            value: { errorCode: codeInvalidArgument, errorMessage: "empty reflection request" },
          };
      }
    },
  };
}

/** Mounts grpc.reflection.v1 and grpc.reflection.v1alpha answering from `index`. */
export function reflectionRoutes(index: ReflectionIndex): (router: ConnectRouter) => void {
  return (router) => {
    router.service(ServerReflectionV1, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          yield create(ResponseV1, {
            validHost: req.host,
            originalRequest: req,
            messageResponse: index.answer(req.messageRequest),
          });
        }
      },
    });
    router.service(ServerReflectionV1Alpha, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          yield create(ResponseV1Alpha, {
            validHost: req.host,
            originalRequest: req,
            messageResponse: index.answer(req.messageRequest),
          });
        }
      },
    });
  };
}
