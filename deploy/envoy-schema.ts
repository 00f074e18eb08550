// Checks an Envoy bootstrap (parsed YAML) against the field names and types in
// envoy-v3-schema.json: unknown fields, wrong value kinds, unknown enum values and unknown
// @type URLs. It knows only the messages that file lists; it is not Envoy's own validation
// (no PGV constraints, no cross-references between listeners, routes and clusters).
import { readFileSync } from "node:fs";

interface SchemaFile {
  typeUrls: Record<string, string>;
  messages: Record<string, { fields?: Record<string, string>; enum?: string[] }>;
}

export const envoySchema = JSON.parse(
  readFileSync(new URL("./envoy-v3-schema.json", import.meta.url), "utf8"),
) as SchemaFile;

export const bootstrapType = "envoy.config.bootstrap.v3.Bootstrap";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function checkScalar(kind: string, value: unknown, path: string, problems: string[]): boolean {
  const fail = (what: string) => {
    problems.push(`${path}: expected ${what}, got ${JSON.stringify(value)}`);
    return true;
  };
  switch (kind) {
    case "duration":
      return typeof value === "string" && /^\d+(\.\d+)?s$/.test(value)
        ? true
        : fail("a duration like 2s");
    case "uint":
      return (typeof value === "number" && Number.isInteger(value) && value >= 0) ||
        (typeof value === "string" && /^\d+$/.test(value))
        ? true
        : fail("a whole number");
    case "int":
      return typeof value === "number" && Number.isInteger(value) ? true : fail("an integer");
    case "number":
      return typeof value === "number" ? true : fail("a number");
    case "bool":
      return typeof value === "boolean" ? true : fail("true or false");
    case "string":
      return typeof value === "string" ? true : fail("a string");
    case "struct":
    case "empty":
      return isObject(value) ? true : fail("an object");
    default:
      return false;
  }
}

/** Problems found in `value` read as message type `type`; empty when it conforms. */
export function validateEnvoy(value: unknown, type = bootstrapType, path = "$"): string[] {
  const problems: string[] = [];
  const visit = (node: unknown, t: string, at: string) => {
    if (checkScalar(t, node, at, problems)) return;
    if (t === "any") {
      if (!isObject(node) || typeof node["@type"] !== "string") {
        problems.push(`${at}: expected an object with "@type"`);
        return;
      }
      const target = envoySchema.typeUrls[node["@type"]];
      if (!target) {
        problems.push(`${at}: unknown @type ${node["@type"]}`);
        return;
      }
      const { "@type": _, ...rest } = node;
      visit(rest, target, at);
      return;
    }
    const schema = envoySchema.messages[t];
    if (!schema) {
      problems.push(`${at}: type ${t} is not in envoy-v3-schema.json`);
      return;
    }
    if (schema.enum) {
      if (typeof node !== "string" || !schema.enum.includes(node)) {
        problems.push(`${at}: ${JSON.stringify(node)} is not one of ${schema.enum.join(", ")}`);
      }
      return;
    }
    if (!isObject(node)) {
      problems.push(`${at}: expected an object (${t})`);
      return;
    }
    const fields = schema.fields ?? {};
    for (const [key, child] of Object.entries(node)) {
      const fieldType = fields[key];
      if (fieldType === undefined) {
        problems.push(`${at}.${key}: not a field of ${t}`);
        continue;
      }
      if (fieldType.startsWith("[]")) {
        if (!Array.isArray(child)) problems.push(`${at}.${key}: expected a list`);
        else {
          for (const [i, item] of child.entries()) {
            visit(item, fieldType.slice(2), `${at}.${key}[${i}]`);
          }
        }
      } else if (fieldType.startsWith("{}")) {
        if (!isObject(child)) problems.push(`${at}.${key}: expected a map`);
        else {
          for (const [k, v] of Object.entries(child))
            visit(v, fieldType.slice(2), `${at}.${key}.${k}`);
        }
      } else {
        visit(child, fieldType, `${at}.${key}`);
      }
    }
  };
  visit(value, type, path);
  return problems;
}
